package alarms

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/monitor/monitortest"
	"github.com/pythonide/pythonide/internal/registry"
)

// emfUnits are the units the EMF specification allows (CloudWatch's StandardUnit).
var emfUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true, "Megabytes": true,
	"Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true,
	"Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true, "Kilobytes/Second": true,
	"Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true,
	"Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true, "Terabits/Second": true,
	"Count/Second": true, "None": true,
}

// validateEMF checks one log line against the Embedded Metric Format
// specification and returns the metric values it declares, by name.
func validateEMF(line []byte, now time.Time) (map[string]float64, []string, error) {
	if len(line) > 256<<10 {
		return nil, nil, fmt.Errorf("event of %d bytes is over the 256 KB limit", len(line))
	}
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("data after the JSON object")
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		return nil, nil, fmt.Errorf("no _aws member")
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(rawAWS, &meta); err != nil {
		return nil, nil, fmt.Errorf("_aws is not an object")
	}
	for k := range meta {
		if k != "Timestamp" && k != "CloudWatchMetrics" && k != "LogGroupName" && k != "LogStreamName" {
			return nil, nil, fmt.Errorf("_aws has an unknown member %q", k)
		}
	}
	var ts json.Number
	if err := json.Unmarshal(meta["Timestamp"], &ts); err != nil {
		return nil, nil, fmt.Errorf("_aws.Timestamp is not a number: %s", meta["Timestamp"])
	}
	ms, err := ts.Int64()
	if err != nil {
		return nil, nil, fmt.Errorf("_aws.Timestamp is not whole milliseconds: %s", ts)
	}
	at := time.UnixMilli(ms)
	if at.Before(now.Add(-14*24*time.Hour)) || at.After(now.Add(2*time.Hour)) {
		return nil, nil, fmt.Errorf("_aws.Timestamp %v is outside CloudWatch's window around %v (seconds instead of ms?)", at, now)
	}
	var directives []map[string]json.RawMessage
	if err := json.Unmarshal(meta["CloudWatchMetrics"], &directives); err != nil || len(directives) == 0 {
		return nil, nil, fmt.Errorf("_aws.CloudWatchMetrics is not a non-empty array")
	}
	values := map[string]float64{}
	var dims []string
	for _, d := range directives {
		for k := range d {
			if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
				return nil, nil, fmt.Errorf("directive has an unknown member %q", k)
			}
		}
		var ns string
		if err := json.Unmarshal(d["Namespace"], &ns); err != nil || ns == "" || len(ns) > 255 || strings.TrimSpace(ns) != ns {
			return nil, nil, fmt.Errorf("bad Namespace %s", d["Namespace"])
		}
		var sets [][]string
		if err := json.Unmarshal(d["Dimensions"], &sets); err != nil {
			return nil, nil, fmt.Errorf("Dimensions is not an array of arrays of strings: %s", d["Dimensions"])
		}
		for _, set := range sets {
			if len(set) > 30 {
				return nil, nil, fmt.Errorf("a dimension set has %d dimensions (max 30)", len(set))
			}
			for _, name := range set {
				raw, ok := root[name]
				var v string
				if !ok || json.Unmarshal(raw, &v) != nil || v == "" || len(v) > 1024 {
					return nil, nil, fmt.Errorf("dimension %q is not a top-level string member", name)
				}
				dims = append(dims, name+"="+v)
			}
		}
		var metrics []map[string]json.RawMessage
		if err := json.Unmarshal(d["Metrics"], &metrics); err != nil || len(metrics) > 100 {
			return nil, nil, fmt.Errorf("Metrics is not an array of at most 100 definitions")
		}
		for _, m := range metrics {
			var name, unit string
			if json.Unmarshal(m["Name"], &name) != nil || name == "" || len(name) > 255 {
				return nil, nil, fmt.Errorf("metric without a Name: %v", m)
			}
			if u, ok := m["Unit"]; ok {
				if json.Unmarshal(u, &unit) != nil || !emfUnits[unit] {
					return nil, nil, fmt.Errorf("metric %s has an invalid Unit %s", name, u)
				}
			}
			raw, ok := root[name]
			if !ok {
				return nil, nil, fmt.Errorf("metric %s is not a top-level member", name)
			}
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil {
				var arr []float64
				if json.Unmarshal(raw, &arr) != nil || len(arr) == 0 || len(arr) > 100 {
					return nil, nil, fmt.Errorf("metric %s is not a number or an array of numbers: %s", name, raw)
				}
				v = arr[0]
			}
			values[name] = v
		}
	}
	return values, dims, nil
}

func TestEMFRecordsFollowTheSpecification(t *testing.T) {
	reg := monitortest.Registry(t, registry.DefaultLimits())
	monitortest.Admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 30<<20)
	monitortest.Admit(t, reg, "p2", "alice", "", registry.KindREPL, 10<<20)
	monitortest.Admit(t, reg, "p3", "bob", "Local/bob/b.py", registry.KindScript, 20<<20)
	reg.Connected("alice")
	reg.Connected("bob")
	reg.Connected("carol")
	root := monitortest.Machine(t, 40)
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Registry: reg, Database: &monitortest.DB{}, Resources: monitor.NewResources(root, nil)})
	m.Sample()
	// 100 of 200 jiffies busy since the first reading.
	if err := os.WriteFile(filepath.Join(root, "proc/stat"), []byte("cpu  150 0 150 800 100 0 0 0 0 0\ncpu0 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Sample()
	m.Probe(context.Background())

	var buf bytes.Buffer
	e := NewEMF(&buf, m, EMFOptions{})
	if err := e.Write(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var main map[string]float64
	byDims := map[string]map[string]float64{}
	n := 0
	for sc.Scan() {
		n++
		vals, dims, err := validateEMF(sc.Bytes(), time.Now())
		if err != nil {
			t.Fatalf("record %d: %v\n%s", n, err, sc.Bytes())
		}
		if !strings.Contains(sc.Text(), `"Namespace":"PythonIDE/Custom"`) {
			t.Errorf("record %d: namespace: %s", n, sc.Text())
		}
		byDims[strings.Join(dims, ",")] = vals
		if len(dims) == 1 {
			main = vals
		}
	}
	if n != 1+len(registry.Kinds())+2 {
		t.Fatalf("want %d records (service, every kind, 2 users), got %d", 1+len(registry.Kinds())+2, n)
	}
	want := map[string]float64{
		MetricActiveUsers: 3, MetricTotalProcesses: 3, MetricProcessMemoryMB: 60, MetricMaxProcsPerUser: 2,
		MetricDatabaseHealthy: 1, MetricEFSMounted: 1,
	}
	for k, v := range want {
		if main[k] != v {
			t.Errorf("%s = %v, want %v (record %v)", k, main[k], v, main)
		}
	}
	if mu, ok := main[MetricMemoryUtilization]; !ok || mu < 39 || mu > 41 {
		t.Errorf("MemoryUtilization = %v", mu)
	}
	if cpu, ok := main[MetricCPUUtilization]; !ok || cpu != 50 {
		t.Errorf("CPUUtilization = %v (present %v), want 50", cpu, ok)
	}
	if s := byDims["Service=pythonide,Kind=script"]; s[MetricProcessMemoryMB] != 50 || s[MetricProcesses] != 2 {
		t.Errorf("script record: %v", s)
	}
	if r := byDims["Service=pythonide,Kind=repl"]; r[MetricProcessMemoryMB] != 10 || r[MetricProcesses] != 1 {
		t.Errorf("repl record: %v", r)
	}
	if a := byDims["Service=pythonide,User=alice"]; a[MetricProcessesPerUser] != 2 || a[MetricProcessMemoryMB] != 40 {
		t.Errorf("alice's record: %v", a)
	}
}

func TestEMFLeavesOutWhatIsNotMeasuredYet(t *testing.T) {
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Resources: monitortest.Resources(t, 10)})
	recs := Records(m.Snapshot(), "Custom/NS", "svc")
	if len(recs) != 1 {
		t.Fatalf("no registry: want 1 record, got %d", len(recs))
	}
	b, _ := json.Marshal(recs[0])
	vals, _, err := validateEMF(b, time.Now())
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for _, k := range []string{MetricCPUUtilization, MetricMemoryUtilization, MetricDatabaseHealthy, MetricEFSMounted} {
		if _, ok := vals[k]; ok {
			t.Errorf("%s declared before it was measured: %s", k, b)
		}
	}
}

func TestValidateEMFCatchesMistakes(t *testing.T) {
	now := time.Now()
	ms := now.UnixMilli()
	bad := map[string]string{
		"seconds timestamp": fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":1}`, now.Unix()),
		"missing member":    fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]}}`, ms),
		"flat dimensions":   fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":["S"],"Metrics":[{"Name":"A"}]}]},"A":1,"S":"x"}`, ms),
		"bad unit":          fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"MB"}]}]},"A":1}`, ms),
		"dimension absent":  fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["S"]],"Metrics":[{"Name":"A"}]}]},"A":1}`, ms),
		"string value":      fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":"1"}`, ms),
	}
	for name, line := range bad {
		if _, _, err := validateEMF([]byte(line), now); err == nil {
			t.Errorf("%s: the validator accepted %s", name, line)
		}
	}
}

func TestOpenEMF(t *testing.T) {
	var stdout bytes.Buffer
	if w, _, err := OpenEMF("off", &stdout); w != nil || err != nil {
		t.Fatalf("off: %v %v", w, err)
	}
	if w, _, _ := OpenEMF("stdout", &stdout); w != &stdout {
		t.Fatal("stdout is not the given writer")
	}
	p := filepath.Join(t.TempDir(), "emf.log")
	w, closeFn, err := OpenEMF(p, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Resources: monitortest.Resources(t, 10)})
	if err := NewEMF(w, m, EMFOptions{Namespace: "Test/NS"}).Write(); err != nil {
		t.Fatal(err)
	}
	closeFn()
	b, _ := os.ReadFile(p)
	if !bytes.Contains(b, []byte(`"Namespace":"Test/NS"`)) || !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("file: %s", b)
	}
	if _, _, err := OpenEMF(filepath.Join(p, "x"), &stdout); err == nil {
		t.Fatal("opening below a file should fail")
	}
}
