package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/health"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// healthBody is the part of GET /health the tests read.
type healthBody struct {
	Status  string          `json:"status"`
	Reasons []health.Reason `json:"reasons"`
	Users   struct {
		Active    int `json:"active"`
		Connected int `json:"connected"`
		OpenWS    int `json:"open_websockets"`
	} `json:"users"`
	Processes *struct {
		Total        int                `json:"total"`
		ByKind       map[string]int     `json:"by_kind"`
		ByState      map[string]int     `json:"by_state"`
		Headroom     int                `json:"headroom"`
		MemoryByKind map[string]int64   `json:"memory_by_kind_bytes"`
		Busiest      []monitor.UserLoad `json:"busiest_users"`
	} `json:"processes"`
	Database    health.DatabaseReport `json:"database"`
	Storage     health.CheckReport    `json:"storage"`
	Sandbox     *health.SandboxReport `json:"sandbox"`
	Degradation degrade.State         `json:"degradation"`
	Memory      health.MemoryReport   `json:"memory"`
	Alarms      []alarms.AlarmState   `json:"alarms"`
}

func getHealth(t *testing.T, c *client, hdr map[string]string) (int, healthBody, string) {
	t.Helper()
	res := c.do("GET", "/health", nil, hdr)
	var h healthBody
	res.json(t, &h)
	return res.status, h, string(res.body)
}

func hasReason(h healthBody, check string) bool {
	for _, r := range h.Reasons {
		if r.Check == check {
			return true
		}
	}
	return false
}

// TestHealthAndMetricsWhileAProgramRuns: the real server, sandbox and
// runner; a student's program waits for input while an operator asks.
func TestHealthAndMetricsWhileAProgramRuns(t *testing.T) {
	m := newMonitoredRig(t, storetest.SQLite(t), nil, degrade.Options{}, nil)
	m.user("alice", store.RoleStudent)
	alice := m.login("alice")
	w := alice.ws()
	p := alice.program("ask.py", "name = input('name? ')\nprint('hi', name)\n")
	w.send(map[string]any{"type": "run", "id": "a", "path": p})
	w.until("a", protocol.MsgInputRequest, wait)

	op := m.anon() // from loopback: an allowed address by default
	code, h, body := getHealth(t, op, nil)
	if code != 200 || h.Processes == nil || h.Processes.Total != 1 || h.Processes.ByKind["script"] != 1 ||
		h.Processes.ByState["waiting_input"] != 1 || h.Processes.Headroom != m.cfg.MaxProcs-1 {
		t.Fatalf("health %d: %s", code, body)
	}
	if len(h.Processes.Busiest) != 1 || h.Processes.Busiest[0].User != "alice" || h.Users.Connected != 1 || h.Users.OpenWS != 1 {
		t.Fatalf("users: %s", body)
	}
	if !h.Database.OK || !h.Storage.OK || h.Storage.LatencyMS <= 0 || h.Database.Dialect != "sqlite" {
		t.Fatalf("checks: %s", body)
	}
	if h.Memory.LimitBytes <= 0 || h.Memory.Source == "" || len(h.Alarms) != 5 {
		t.Fatalf("resources/alarms: %s", body)
	}
	// The program's memory arrives with the runner's samples.
	deadline := time.Now().Add(wait)
	for h.Processes.MemoryByKind["script"] == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, h, body = getHealth(t, op, nil)
	}
	if os.Geteuid() == 0 && h.Processes.MemoryByKind["script"] == 0 {
		t.Errorf("no process memory after %v: %s", wait, body)
	}

	fams := scrapeMetrics(t, op)
	want := []struct {
		name   string
		labels map[string]string
		v      float64
	}{
		{"pythonide_processes", map[string]string{"kind": "script", "state": "waiting_input"}, 1},
		{"pythonide_process_starts_total", map[string]string{"kind": "script"}, 1},
		{"pythonide_process_start_seconds", map[string]string{"kind": "script"}, 1},
		{"pythonide_websockets_open", nil, 1},
		{"pythonide_active_users", nil, 1},
		{"pythonide_http_requests_total", map[string]string{"route": "PUT /api/files/content", "code": "200"}, 1},
		{"pythonide_http_requests_total", map[string]string{"route": "GET /health", "code": "200"}, -1},
		{"pythonide_database_up", nil, 1},
		{"pythonide_storage_up", nil, 1},
		{"pythonide_process_exits_total", map[string]string{"kind": "script", "reason": "stopped"}, 0},
	}
	for _, c := range want {
		v, ok := sample(fams, c.name, c.labels)
		if !ok || (c.v >= 0 && v != c.v) || (c.v < 0 && v < 1) {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.v)
		}
	}

	w.send(map[string]any{"type": "stop", "id": "a"})
	if _, _, x := w.until("a", protocol.MsgExit, wait); x.Reason != "stopped" {
		t.Fatalf("exit %+v", x)
	}
	fams = scrapeMetrics(t, op)
	if v, _ := sample(fams, "pythonide_process_exits_total", map[string]string{"kind": "script", "reason": "stopped"}); v != 1 {
		t.Errorf("exits{stopped} = %v", v)
	}
	if v, _ := sample(fams, "pythonide_cleanup_sweeps_total", nil); v < 1 {
		t.Errorf("no sweep counted (the rig sweeps every 100 ms): %v", v)
	}
}

// TestMonitoringAccess: /metrics only for allowed addresses or the token;
// /health for everyone, with names and errors only for operators and teachers.
func TestMonitoringAccess(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), func(c *config.Config) {
		c.MetricsAllow = []string{"10.1.2.3"} // loopback (the test client) is not allowed
		c.MetricsToken = "s3cret"
		c.TrustedProxies = []string{"127.0.0.1/32"}
	})
	reg, err := registry.New(registry.DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Admit(registry.Request{ID: "x", Owner: "alice", Kind: registry.KindREPL}); err != nil {
		t.Fatal(err)
	}
	mon := monitor.New(monitor.Options{DataDir: r.data, Registry: reg, Database: r.st})
	r.server.mon = mon
	m := &monRig{rig: r, mon: mon}
	m.server.metricsHandler = newPromHandler(t, mon)
	r.user("prof", store.RoleProfessor)
	r.user("alice", store.RoleStudent)

	anon := r.anon()
	cases := []struct {
		name    string
		c       *client
		hdr     map[string]string
		metrics int
		detail  bool
	}{
		{"stranger", anon, nil, 403, false},
		{"wrong token", anon, map[string]string{"Authorization": "Bearer nope"}, 403, false},
		{"token", anon, map[string]string{"Authorization": "Bearer s3cret"}, 200, true},
		{"allowed address via the trusted proxy", anon, map[string]string{"X-Forwarded-For": "10.1.2.3"}, 200, true},
		{"other address via the trusted proxy", anon, map[string]string{"X-Forwarded-For": "203.0.113.7"}, 403, false},
		{"student", r.login("alice"), nil, 403, false},
		{"teacher", r.login("prof"), nil, 403, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := c.c.do("GET", "/metrics", nil, c.hdr)
			if res.status != c.metrics {
				t.Fatalf("/metrics: %d, want %d", res.status, c.metrics)
			}
			if res.status == 403 && (res.errCode() != string(apierror.Forbidden) || res.header.Get("WWW-Authenticate") == "") {
				t.Fatalf("refusal: %s %v", res.body, res.header)
			}
			code, h, body := getHealth(t, c.c, c.hdr)
			if code != 200 || h.Status != "ok" || h.Processes == nil || h.Processes.Total != 1 {
				t.Fatalf("/health %d: %s", code, body)
			}
			if got := strings.Contains(body, `"alice"`); got != c.detail {
				t.Fatalf("names shown: %v, want %v: %s", got, c.detail, body)
			}
		})
	}
}

// TestMemoryLineRefusesNewRunsWhileRunningOnesGoOn drives the server's
// memory reading from a fixture machine whose use is raised past 85 %.
func TestMemoryLineRefusesNewRunsWhileRunningOnesGoOn(t *testing.T) {
	root := fakeMachine(t, 30, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	m := newMonitoredRig(t, storetest.SQLite(t), monitor.NewResources(root, nil), degrade.Options{}, nil)
	m.user("alice", store.RoleStudent)
	m.user("bob", store.RoleStudent)
	alice, bob := m.login("alice"), m.login("bob")
	wa, wb := alice.ws(), bob.ws()
	p := alice.program("ask.py", "name = input('name? ')\nprint('hi', name)\n")
	wa.send(map[string]any{"type": "run", "id": "a", "path": p})
	wa.until("a", protocol.MsgInputRequest, wait)

	setMemory(t, root, 90)
	m.mon.Sample()
	q := bob.program("hello.py", "print('hello')\n")
	wb.send(map[string]any{"type": "run", "id": "b", "path": q})
	if e := wb.next("b", wait); e.Type != protocol.MsgError || e.Code != string(apierror.Unavailable) || !strings.Contains(e.Message, "memory") {
		t.Fatalf("over the memory line: %+v", e)
	}
	// Alice's program goes on.
	wa.send(map[string]any{"type": "stdin", "id": "a", "data": "ann\n"})
	if out, _, _ := wa.until("a", protocol.MsgREPLReady, wait); out != "hi ann\n" {
		t.Fatalf("the running program: %q", out)
	}
	op := m.anon()
	code, h, body := getHealth(t, op, nil)
	if code != 200 || h.Status != "degraded" || !hasReason(h, "memory") || h.Degradation.Shedding != "memory" || h.Degradation.RefusedMemory != 1 {
		t.Fatalf("health %d: %s", code, body)
	}
	fams := scrapeMetrics(t, op)
	if v, _ := sample(fams, "pythonide_admission_refusals_total", map[string]string{"limit": "degraded_memory"}); v != 1 {
		t.Errorf("refusals{degraded_memory} = %v", v)
	}
	if v, _ := sample(fams, "pythonide_degraded", map[string]string{"line": "memory"}); v != 1 {
		t.Errorf("degraded{memory} = %v", v)
	}
	if v, _ := sample(fams, "pythonide_health_status", nil); v != 1 {
		t.Errorf("health_status = %v", v)
	}

	setMemory(t, root, 40)
	m.mon.Sample()
	wb.send(map[string]any{"type": "run", "id": "b2", "path": q})
	if out, _, _ := wb.until("b2", protocol.MsgREPLReady, wait); out != "hello\n" {
		t.Fatalf("after memory came back: %q", out)
	}
	if _, h, body = getHealth(t, op, nil); h.Status != "ok" {
		t.Fatalf("health after: %s", body)
	}
}

// TestCPULineQueuesRunsThenLetsThemThrough: over the CPU line a run waits;
// when the CPU comes back under the line it starts; a run that waits too
// long is refused.
func TestCPULineQueuesRunsThenLetsThemThrough(t *testing.T) {
	root := fakeMachine(t, 30, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	m := newMonitoredRig(t, storetest.SQLite(t), monitor.NewResources(root, nil), degrade.Options{Wait: 2 * time.Second}, nil)
	m.user("alice", store.RoleStudent)
	alice := m.login("alice")
	w := alice.ws()
	p := alice.program("hello.py", "print('hello')\n")

	used, idle := 200, 800   // the fixture's /proc/stat
	busy := func(b, i int) { // jiffies since the last reading
		t.Helper()
		used, idle = used+b, idle+i
		writeFile(t, filepath.Join(root, "proc/stat"), fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\n", used, idle))
		m.mon.Sample()
	}
	busy(95, 5)
	if s := m.mon.Gate().State(); s.Shedding != "cpu" {
		t.Fatalf("gate: %+v", s)
	}
	// Refused after the wait.
	w.send(map[string]any{"type": "run", "id": "late", "path": p})
	if e := w.next("late", wait); e.Type != protocol.MsgError || e.Code != string(apierror.Unavailable) || !strings.Contains(e.Message, "busy") {
		t.Fatalf("after the queue wait: %+v", e)
	}
	// Let through once the CPU is back under the line.
	w.send(map[string]any{"type": "run", "id": "q", "path": p})
	waitUntil(t, "the run to queue", func() bool { return m.mon.Gate().State().Waiting == 1 })
	if _, h, body := getHealth(t, m.anon(), nil); h.Status != "degraded" || !hasReason(h, "cpu") || h.Degradation.Waiting != 1 {
		t.Fatalf("health while queued: %s", body)
	}
	busy(10, 90)
	if out, _, _ := w.until("q", protocol.MsgREPLReady, wait); out != "hello\n" {
		t.Fatalf("queued run: %q", out)
	}
	fams := scrapeMetrics(t, m.anon())
	if v, _ := sample(fams, "pythonide_admission_refusals_total", map[string]string{"limit": "degraded_cpu"}); v != 1 {
		t.Errorf("refusals{degraded_cpu} = %v", v)
	}
}

// TestDatabaseOutage stops a real PostgreSQL under a running server:
// /health says degraded with 200, saving and running go on for a student
// already logged in, and all recovers by itself when it starts again.
func TestDatabaseOutage(t *testing.T) {
	pg := storetest.PrivatePostgres(t)
	st := openStore(t, pg.URL())
	m := newMonitoredRig(t, st, nil, degrade.Options{}, nil)
	m.user("alice", store.RoleStudent)
	alice := m.login("alice")
	w := alice.ws()
	op := m.anon()
	if code, h, body := getHealth(t, op, nil); code != 200 || !h.Database.OK || h.Database.Dialect != "postgres" {
		t.Fatalf("before: %d %s", code, body)
	}

	pg.Stop()
	code, h, body := getHealth(t, op, nil)
	if code != 200 || h.Status != "degraded" || h.Database.OK || h.Database.Error == "" || !hasReason(h, "database") {
		t.Fatalf("during the outage: %d %s", code, body)
	}
	if !alarmFiring(h, "PythonIDE-DatabaseUnhealthy") {
		t.Errorf("the database alarm does not fire: %s", body)
	}
	// Past the session cache's revalidation (5 s) the store is asked and
	// fails; a known session still works.
	time.Sleep(6 * time.Second)
	p := alice.program("during.py", "print('still running')\n")
	if res := alice.get(p); res.status != 200 || string(res.body) != "print('still running')\n" {
		t.Fatalf("reading during the outage: %d %s", res.status, res.body)
	}
	w.send(map[string]any{"type": "run", "id": "d", "path": p})
	if out, _, _ := w.until("d", protocol.MsgREPLReady, wait); out != "still running\n" {
		t.Fatalf("running during the outage: %q", out)
	}
	fams := scrapeMetrics(t, op)
	if v, ok := sample(fams, "pythonide_database_up", nil); !ok || v != 0 {
		t.Errorf("database_up during the outage = %v %v", v, ok)
	}

	pg.Start()
	waitUntil(t, "health to recover", func() bool {
		_, h, _ := getHealth(t, op, nil)
		return h.Status == "ok" && h.Database.OK
	})
	if res := alice.put(p, "print('after')\n"); res.status != 200 {
		t.Fatalf("saving after: %d %s", res.status, res.body)
	}
	if v, _ := sample(scrapeMetrics(t, op), "pythonide_probes_total", map[string]string{"check": "database", "result": "failed"}); v < 1 {
		t.Errorf("failed database probes not counted: %v", v)
	}
}

func alarmFiring(h healthBody, name string) bool {
	for _, a := range h.Alarms {
		if a.Name == name {
			return a.Firing
		}
	}
	return false
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
