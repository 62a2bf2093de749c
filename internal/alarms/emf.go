package alarms

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
)

// CloudWatch units used by the records.
const (
	UnitCount     = "Count"
	UnitPercent   = "Percent"
	UnitMegabytes = "Megabytes"
	UnitNone      = "None"
)

// EMFOptions configure the Embedded Metric Format writer.
type EMFOptions struct {
	Namespace string        // default "PythonIDE/Custom", the seed's
	Service   string        // the Service dimension's value; default "pythonide"
	Every     time.Duration // default 60 s
	Log       func(msg string, args ...any)
}

// EMF writes CloudWatch Embedded Metric Format records: one JSON object per
// line, which CloudWatch Logs (e.g. from ECS's awslogs driver) turns into
// metrics with no SDK and no credentials in the server.
type EMF struct {
	w    io.Writer
	mon  *monitor.Monitor
	opts EMFOptions
	mu   sync.Mutex
}

// NewEMF writes mon's figures to w.
func NewEMF(w io.Writer, mon *monitor.Monitor, o EMFOptions) *EMF {
	if o.Namespace == "" {
		o.Namespace = "PythonIDE/Custom"
	}
	if o.Service == "" {
		o.Service = "pythonide"
	}
	if o.Every == 0 {
		o.Every = time.Minute
	}
	return &EMF{w: w, mon: mon, opts: o}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// record builds one EMF object: the metadata under "_aws" and every
// dimension and metric as a top-level member, as the specification requires.
func record(at time.Time, ns string, dims map[string]string, metrics []emfMetric, values map[string]float64) map[string]any {
	names := make([]string, 0, len(dims))
	out := map[string]any{}
	for _, k := range []string{"Service", "Kind", "User"} { // a stable order
		if v, ok := dims[k]; ok {
			names = append(names, k)
			out[k] = v
		}
	}
	var ms []emfMetric
	for _, m := range metrics {
		if v, ok := values[m.Name]; ok {
			ms = append(ms, m)
			out[m.Name] = v
		}
	}
	out["_aws"] = map[string]any{
		"Timestamp":         at.UnixMilli(),
		"CloudWatchMetrics": []emfDirective{{Namespace: ns, Dimensions: [][]string{names}, Metrics: ms}},
	}
	return out
}

// Records are the EMF objects for s: the service's headline figures, one
// per process kind (memory and count), and one per user with programs
// (processes per user, the seed's; at most the active-user limit of them).
func Records(s monitor.Snapshot, namespace, service string) []map[string]any {
	vals := Values(s)
	main := record(s.At, namespace, map[string]string{"Service": service}, []emfMetric{
		{MetricActiveUsers, UnitCount}, {MetricTotalProcesses, UnitCount}, {MetricMaxProcsPerUser, UnitCount},
		{MetricProcessMemoryMB, UnitMegabytes}, {MetricDatabaseHealthy, UnitNone}, {MetricEFSMounted, UnitNone},
		{MetricCPUUtilization, UnitPercent}, {MetricMemoryUtilization, UnitPercent},
	}, vals)
	out := []map[string]any{main}
	if st := s.Registry; st != nil {
		for _, k := range registry.Kinds() {
			out = append(out, record(s.At, namespace, map[string]string{"Service": service, "Kind": string(k)},
				[]emfMetric{{MetricProcessMemoryMB, UnitMegabytes}, {MetricProcesses, UnitCount}},
				map[string]float64{MetricProcessMemoryMB: float64(st.MemoryByKind[k]) / (1 << 20), MetricProcesses: float64(st.ByKind[k])}))
		}
	}
	for _, u := range s.Users {
		out = append(out, record(s.At, namespace, map[string]string{"Service": service, "User": u.User},
			[]emfMetric{{MetricProcessesPerUser, UnitCount}, {MetricProcessMemoryMB, UnitMegabytes}},
			map[string]float64{MetricProcessesPerUser: float64(u.Processes), MetricProcessMemoryMB: float64(u.MemoryBytes) / (1 << 20)}))
	}
	return out
}

// Write writes the records for the monitor's current figures.
func (e *EMF) Write() error {
	recs := Records(e.mon.Snapshot(), e.opts.Namespace, e.opts.Service)
	e.mu.Lock()
	defer e.mu.Unlock()
	bw := bufio.NewWriter(e.w)
	enc := json.NewEncoder(bw) // one object per line
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Run writes records every Every until ctx ends. A failed write is logged
// and the next one goes on.
func (e *EMF) Run(ctx context.Context) {
	t := time.NewTicker(e.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Write(); err != nil && e.opts.Log != nil {
				e.opts.Log("writing CloudWatch metrics failed", "err", err)
			}
		}
	}
}

// OpenEMF opens the --emf destination: "off" or "" (nil writer), "stdout",
// or a file path (appended to, created 0640).
func OpenEMF(dest string, stdout io.Writer) (io.Writer, func() error, error) {
	switch dest {
	case "", "off":
		return nil, func() error { return nil }, nil
	case "stdout", "-":
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the CloudWatch metrics file: %w", err)
	}
	return f, f.Close, nil
}
