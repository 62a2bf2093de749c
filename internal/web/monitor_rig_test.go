package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/metrics"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
)

// monRig is a run rig wired as serve wires it for monitoring: the monitor
// reads the rig's registry, store and data folder; its gate sits in front of
// the runner; its metrics observe the runner, the cleanup service and every
// HTTP request, and are served from an injected Prometheus registry.
type monRig struct {
	*rig
	mon     *monitor.Monitor
	metrics *metrics.Metrics
}

// newMonitoredRig builds it on st reading CPU and memory from res (nil:
// this machine).
func newMonitoredRig(t *testing.T, st *store.Store, res *monitor.Resources, gate degrade.Options, tweak func(*config.Config)) *monRig {
	t.Helper()
	m := &monRig{}
	prom := prometheus.NewRegistry()
	var cfg *config.Config
	m.rig = newRunRigWith(t, runRigOptions{
		store: st,
		tweak: func(c *config.Config) {
			cfg = c
			if tweak != nil {
				tweak(c)
			}
		},
		hooks: func(reg *registry.Registry) runHooks {
			m.mon = monitor.New(monitor.Options{DataDir: cfg.DataDir, Registry: reg, Database: st, Resources: res, Gate: gate,
				OpenWebSockets: func() int {
					if m.rig == nil {
						return 0
					}
					return m.server.OpenWebSockets()
				}})
			x, err := metrics.New(prom, m.mon)
			if err != nil {
				t.Fatal(err)
			}
			m.metrics = x
			return runHooks{gate: m.mon.Gate(), observe: x, swept: func(ds []cleanup.Decision) { x.Swept(cleanup.Reasons(ds)) }}
		},
	})
	m.server.mon = m.mon
	m.server.metricsHandler = promhttp.HandlerFor(prom, promhttp.HandlerOpts{})
	m.server.observe = m.metrics.ObserveHTTP
	m.mon.Sample()
	return m
}

// scrapeMetrics fetches /metrics through c and parses it.
func scrapeMetrics(t *testing.T, c *client) map[string]*dto.MetricFamily {
	t.Helper()
	res := c.do("GET", "/metrics", nil, nil)
	if res.status != 200 {
		t.Fatalf("/metrics: %d %s", res.status, res.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(res.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample finds the value of family name with labels including want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// openStore opens (and migrates) a store on url, closed at cleanup.
func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeMachine writes /proc files of a machine without cgroup limits at the
// given memory use; the monitor's Resources read it instead of this one.
func fakeMachine(t *testing.T, memPercent int, stat string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"proc/self"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "proc/self/cgroup"), "0::/\n")
	writeFile(t, filepath.Join(root, "proc/self/mountinfo"), "")
	writeFile(t, filepath.Join(root, "proc/stat"), stat)
	setMemory(t, root, memPercent)
	return root
}

// setMemory sets the fake machine's memory use (of 8 GiB).
func setMemory(t *testing.T, root string, percent int) {
	t.Helper()
	const totalKB = 8 << 20
	writeFile(t, filepath.Join(root, "proc/meminfo"),
		fmt.Sprintf("MemTotal: %d kB\nMemAvailable: %d kB\n", totalKB, totalKB-totalKB*percent/100))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPromHandler serves mon's metrics from a registry of its own.
func newPromHandler(t *testing.T, mon *monitor.Monitor) http.Handler {
	t.Helper()
	prom := prometheus.NewRegistry()
	if _, err := metrics.New(prom, mon); err != nil {
		t.Fatal(err)
	}
	return promhttp.HandlerFor(prom, promhttp.HandlerOpts{})
}
