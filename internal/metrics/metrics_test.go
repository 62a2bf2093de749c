package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/monitor/monitortest"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// scrape fetches url over HTTP and parses the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("scrape: %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want; ok is
// false if there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
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
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsScrapedOverHTTP(t *testing.T) {
	reg := monitortest.Registry(t, registry.DefaultLimits())
	monitortest.Admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 30<<20)
	monitortest.Admit(t, reg, "p2", "bob", "", registry.KindREPL, 12<<20)
	reg.Connected("alice")
	layers := sandbox.Layers{Cgroup: "v1", Landlock: true, Rlimits: true}
	mon := monitor.New(monitor.Options{DataDir: t.TempDir(), Registry: reg, Database: &monitortest.DB{}, Layers: &layers,
		Resources: monitortest.Resources(t, 20), OpenWebSockets: func() int { return 4 }, WarmInterpreters: func() int { return 5 }})
	mon.Sample()
	mon.Probe(context.Background())

	promReg := prometheus.NewRegistry()
	x, err := New(promReg, mon)
	if err != nil {
		t.Fatal(err)
	}
	// The web layer's shape: a mux inside a middleware that observes.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/files/content", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mux.ServeHTTP(w, r)
		x.ObserveHTTP(r, 200, time.Since(start))
	}))
	defer srv.Close()

	// Before any failure: every failure label value is there at 0.
	fams := scrape(t, srv.URL+"/metrics")
	zeros := []struct {
		name   string
		labels map[string]string
	}{
		{"pythonide_process_exits_total", map[string]string{"kind": "script", "reason": "memory_limit"}},
		{"pythonide_process_exits_total", map[string]string{"kind": "repl", "reason": "timeout"}},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "users"}},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "degraded_memory"}},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "degraded_cpu"}},
		{"pythonide_cleanup_reaps_total", map[string]string{"reason": "abandoned"}},
		{"pythonide_probes_total", map[string]string{"check": "storage", "result": "failed"}},
		{"pythonide_probes_total", map[string]string{"check": "database", "result": "failed"}},
		{"pythonide_cleanup_sweeps_total", nil},
	}
	for _, z := range zeros {
		if v, ok := value(fams, z.name, z.labels); !ok || v != 0 {
			t.Errorf("%s%v: want a 0 sample before any failure, got %v %v", z.name, z.labels, v, ok)
		}
	}

	// Events.
	x.Started(registry.KindScript, 120*time.Millisecond)
	x.Ended(registry.KindScript, registry.ReasonTimeout)
	x.Refused(fault.New(registry.ErrUsersLimit, "full"))
	x.Refused(fault.New(degrade.ErrShedCPU, "busy"))
	x.Refused(errors.New("something else"))
	x.Swept([]registry.Reason{registry.ReasonIdle, registry.ReasonIdle})
	http.Get(srv.URL + "/api/files/content?path=x")
	http.Get(srv.URL + "/nowhere")

	fams = scrape(t, srv.URL+"/metrics")
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pythonide_process_starts_total", map[string]string{"kind": "script"}, 1},
		{"pythonide_process_start_seconds", map[string]string{"kind": "script"}, 1},
		{"pythonide_process_exits_total", map[string]string{"kind": "script", "reason": "timeout"}, 1},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "users"}, 1},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "degraded_cpu"}, 1},
		{"pythonide_admission_refusals_total", map[string]string{"limit": "other"}, 1},
		{"pythonide_cleanup_sweeps_total", nil, 1},
		{"pythonide_cleanup_reaps_total", map[string]string{"reason": "idle"}, 2},
		{"pythonide_http_requests_total", map[string]string{"route": "GET /api/files/content", "code": "200"}, 1},
		{"pythonide_http_requests_total", map[string]string{"route": "unmatched"}, 1},
		{"pythonide_websockets_open", nil, 4},
		{"pythonide_warm_interpreters", nil, 5},
		{"pythonide_active_users", nil, 2},
		{"pythonide_users", map[string]string{"state": "connected"}, 1},
		{"pythonide_users", map[string]string{"state": "with_programs"}, 2},
		{"pythonide_processes", map[string]string{"kind": "script", "state": "running"}, 1},
		{"pythonide_processes", map[string]string{"kind": "repl", "state": "running"}, 1},
		{"pythonide_processes", map[string]string{"kind": "repl", "state": "waiting_input"}, 0},
		{"pythonide_process_memory_bytes", map[string]string{"kind": "repl"}, 12 << 20},
		{"pythonide_headroom_processes", nil, 112},
		{"pythonide_headroom_users", nil, 36},
		{"pythonide_database_up", nil, 1},
		{"pythonide_storage_up", nil, 1},
		{"pythonide_database_connections", map[string]string{"state": "in_use"}, 1},
		{"pythonide_database_connections_max", nil, 10},
		{"pythonide_probes_total", map[string]string{"check": "storage", "result": "ok"}, 1},
		{"pythonide_health_status", nil, 0},
		{"pythonide_degraded", map[string]string{"line": "memory"}, 0},
		{"pythonide_gate_waiting", nil, 0},
		{"pythonide_sandbox_layer", map[string]string{"layer": "landlock"}, 1},
		{"pythonide_sandbox_layer", map[string]string{"layer": "namespaces"}, 0},
		{"pythonide_memory_limit_bytes", nil, 8 << 30},
	}
	for _, c := range checks {
		if v, ok := value(fams, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := value(fams, "pythonide_memory_utilization_percent", nil); !ok || v < 19 || v > 21 {
		t.Errorf("memory utilization %v %v", v, ok)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	for name := range fams {
		if strings.HasPrefix(name, "pythonide_") && fams[name].GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
	}
}

func TestMetricsOnTwoRegistries(t *testing.T) {
	// Nothing global: two servers in one process each get their own.
	mon := monitor.New(monitor.Options{DataDir: t.TempDir(), Resources: monitortest.Resources(t, 10)})
	for i := 0; i < 2; i++ {
		if _, err := New(prometheus.NewRegistry(), mon); err != nil {
			t.Fatalf("registry %d: %v", i, err)
		}
	}
}

func TestRefusalLabel(t *testing.T) {
	cases := map[error]string{
		fault.New(registry.ErrPerUserLimit, "x"): "per_user",
		fault.New(registry.ErrTotalLimit, "x"):   "total",
		fault.New(registry.ErrMemoryLimit, "x"):  "memory",
		fault.New(degrade.ErrShedMemory, "x"):    "degraded_memory",
		errors.New("x"):                          "other",
	}
	for err, want := range cases {
		if got := RefusalLabel(err); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
}

func TestClassTotals(t *testing.T) {
	reg := prometheus.NewRegistry()
	var fail bool
	if err := Class(reg, "ide-2", func() (ClassTotals, error) {
		if fail {
			return ClassTotals{}, errors.New("database down")
		}
		return ClassTotals{Instances: 3, Processes: 7, Users: 5}, nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	fams := scrape(t, srv.URL)
	for name, want := range map[string]float64{"pythonide_class_instances": 3, "pythonide_class_processes": 7, "pythonide_class_users_with_programs": 5, "pythonide_class_read_failed": 0} {
		if v, ok := value(fams, name, nil); !ok || v != want {
			t.Errorf("%s = %v (%t), want %v", name, v, ok, want)
		}
	}
	if v, ok := value(fams, "pythonide_instance_info", map[string]string{"instance": "ide-2"}); !ok || v != 1 {
		t.Errorf("pythonide_instance_info{instance=ide-2} = %v (%t)", v, ok)
	}
	fail = true
	fams = scrape(t, srv.URL)
	if v, _ := value(fams, "pythonide_class_read_failed", nil); v != 1 {
		t.Errorf("a failed read is not told: %v", v)
	}
	if _, ok := value(fams, "pythonide_class_processes", nil); ok {
		t.Error("a stale total was exported after a failed read")
	}
}
