package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// switchDB is a database whose ping fails while down is set. The real
// PostgreSQL outage is tested in internal/web against a server that is
// really stopped; this one drives the health model's cases.
type switchDB struct{ down atomic.Bool }

func (d *switchDB) Ping(ctx context.Context) error {
	if d.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}
func (d *switchDB) Stats() sql.DBStats {
	return sql.DBStats{OpenConnections: 2, InUse: 1, Idle: 1, MaxOpenConnections: 10}
}
func (d *switchDB) Dialect() string { return "postgres" }

// fixedResources is a machine at the given memory use.
func fixedResources(t *testing.T, memPercent int) *Resources {
	return NewResources(machine(t, memPercent), nil)
}

// machine writes a machine without cgroup limits at the given memory use.
func machine(t *testing.T, memPercent int) string {
	total := int64(8 << 30)
	avail := total - total*int64(memPercent)/100
	root := fixture(t, map[string]string{
		"proc/self/cgroup":    "0::/\n",
		"proc/self/mountinfo": "",
		"proc/meminfo":        "MemTotal: " + itoa(total/1024) + " kB\nMemAvailable: " + itoa(avail/1024) + " kB\n",
		"proc/stat":           stat4CPU,
	})
	return root
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newRegistry(t *testing.T, l registry.Limits) *registry.Registry {
	t.Helper()
	reg, err := registry.New(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func admit(t *testing.T, reg *registry.Registry, id, owner, path string, kind registry.Kind, mem int64) {
	t.Helper()
	if _, err := reg.Admit(registry.Request{ID: id, Owner: owner, Path: path, Kind: kind}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Started(id, 100000+len(id)*7+int(mem%97), uint64(len(id))); err != nil {
		t.Fatal(err)
	}
	reg.Sample(id, mem, 0.1)
}

func TestHealthOKThenDatabaseDownThenBack(t *testing.T) {
	reg := newRegistry(t, registry.DefaultLimits())
	admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 20<<20)
	admit(t, reg, "p2", "alice", "", registry.KindREPL, 10<<20)
	admit(t, reg, "p3", "bob", "Local/bob/b.py", registry.KindScript, 5<<20)
	reg.Connected("alice")
	db := &switchDB{}
	layers := sandbox.Layers{Cgroup: "v2", Namespaces: true, Seccomp: true, Rlimits: true, UIDDrop: true}
	m := New(Options{DataDir: t.TempDir(), Database: db, Registry: reg, Layers: &layers,
		Resources: fixedResources(t, 30), OpenWebSockets: func() int { return 1 }, WarmInterpreters: func() int { return 3 }})

	r := m.Health(context.Background())
	if r.Status != StatusOK || len(r.Reasons) != 0 {
		t.Fatalf("want ok, got %s %+v", r.Status, r.Reasons)
	}
	if !r.Database.OK || !r.Storage.OK || r.Database.Dialect != "postgres" || r.Database.Pool.MaxOpen != 10 {
		t.Errorf("checks: %+v %+v", r.Database, r.Storage)
	}
	if r.Memory.Source != SourceHost || r.Memory.Percent < 29 || r.Memory.Percent > 31 || r.CPU.Percent != nil {
		t.Errorf("resources: %+v %+v", r.Memory, r.CPU)
	}
	p := r.Processes
	if p == nil || p.Total != 3 || p.ByKind[registry.KindScript] != 2 || p.ByKind[registry.KindREPL] != 1 ||
		p.MemoryBytes != 35<<20 || p.MemoryByKind[registry.KindREPL] != 10<<20 || p.Headroom != 111 {
		t.Fatalf("processes: %+v", p)
	}
	if p.Warm != 3 {
		t.Errorf("warm interpreters: %d, want 3", p.Warm)
	}
	if len(p.BusiestUsers) != 2 || p.BusiestUsers[0].User != "alice" || p.BusiestUsers[0].Processes != 2 {
		t.Errorf("busiest: %+v", p.BusiestUsers)
	}
	if r.Users.Active != 2 || r.Users.Connected != 1 || r.Users.WithPrograms != 2 || r.Users.Headroom != 36 || r.Users.OpenWebSocket != 1 {
		t.Errorf("users: %+v", r.Users)
	}
	if r.Sandbox == nil || !r.Sandbox.Confined || r.Sandbox.Cgroup != "v2" || r.Limits == nil || r.Limits.MaxProcesses != 114 {
		t.Errorf("sandbox/limits: %+v %+v", r.Sandbox, r.Limits)
	}
	if len(r.Alarms) != 5 {
		t.Fatalf("alarms: %+v", r.Alarms)
	}
	for _, a := range r.Alarms {
		if a.Firing {
			t.Errorf("alarm firing when all is well: %+v", a)
		}
	}

	db.down.Store(true)
	r = m.Health(context.Background())
	if r.Status != StatusDegraded || len(r.Reasons) != 1 || r.Reasons[0].Check != "database" || r.Database.OK || r.Database.Error == "" {
		t.Fatalf("database down: %s %+v %+v", r.Status, r.Reasons, r.Database)
	}
	if !firing(r, "PythonIDE-DatabaseUnhealthy") {
		t.Errorf("the database alarm is not firing: %+v", r.Alarms)
	}
	db.down.Store(false)
	if r = m.Health(context.Background()); r.Status != StatusOK {
		t.Fatalf("database back: %s %+v", r.Status, r.Reasons)
	}
}

func firing(r Report, name string) bool {
	for _, a := range r.Alarms {
		if a.Name == name {
			return a.Firing
		}
	}
	return false
}

func TestHealthStorageFailureIsUnhealthy(t *testing.T) {
	m := New(Options{DataDir: filepath.Join(t.TempDir(), "gone"), Resources: fixedResources(t, 10)})
	r := m.Health(context.Background())
	if r.Status != StatusUnhealthy || r.Storage.OK || r.Storage.Error == "" || !firing(r, "PythonIDE-StorageUnavailable") {
		t.Fatalf("want unhealthy storage, got %s %+v %+v", r.Status, r.Reasons, r.Storage)
	}
}

func TestHealthMemoryOverTheLineShedsAndDegrades(t *testing.T) {
	m := New(Options{DataDir: t.TempDir(), Resources: fixedResources(t, 90)})
	r := m.Health(context.Background())
	if r.Status != StatusDegraded || r.Degradation.Shedding != "memory" || r.Reasons[0].Check != "memory" || !firing(r, "PythonIDE-HighMemory") {
		t.Fatalf("got %s %+v %+v", r.Status, r.Reasons, r.Degradation)
	}
	if err := m.Gate().Check(); err == nil {
		t.Fatal("the gate let a run through over the memory line")
	}
	if r = m.Health(context.Background()); r.Degradation.RefusedMemory != 1 {
		t.Fatalf("the refusal does not show: %+v", r.Degradation)
	}
}

func TestEvaluateCases(t *testing.T) {
	limits := registry.DefaultLimits()
	full := registry.Stats{Processes: 114, ActiveUsers: 38, Connected: 38, Limits: limits}
	cases := []struct {
		name    string
		snap    Snapshot
		status  Status
		reasons []string
	}{
		{"not probed yet is not a failure", Snapshot{Usage: Usage{MemoryLimit: 1, MemoryPercent: 1}}, StatusOK, nil},
		{"limits reached", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true}, Registry: &full},
			StatusDegraded, []string{"processes", "users", "alarm"}},
		{"storage and database", Snapshot{Probed: true}, StatusUnhealthy, []string{"storage", "database"}},
		{"cpu queue", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true}, Gate: GateState{Shedding: "cpu", CPULine: 80}},
			StatusDegraded, []string{"cpu"}},
		{"blind", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true}, UsageErr: "no /proc"},
			StatusDegraded, []string{"resources"}},
		{"a confinement layer lost", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: Confinement{Lost: "the cgroup subtree vanished", SelfTest: &Check{OK: true}}},
			StatusDegraded, []string{"sandbox"}},
		{"self-test failed", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: Confinement{SelfTest: &Check{Err: "bwrap: permission denied"}}},
			StatusDegraded, []string{"sandbox"}},
		{"self-test passed, subtree made again", Snapshot{Probed: true, Database: Check{OK: true}, Storage: Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: Confinement{CgroupRecreated: 1, SelfTest: &Check{OK: true}}},
			StatusOK, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Evaluate(c.snap, Alarms(80, 85, 35))
			var got []string
			for _, x := range r.Reasons {
				got = append(got, x.Check)
				if x.Message == "" {
					t.Errorf("reason %s without a message", x.Check)
				}
			}
			if r.Status != c.status || strings.Join(got, ",") != strings.Join(c.reasons, ",") {
				t.Fatalf("got %s %v, want %s %v", r.Status, got, c.status, c.reasons)
			}
		})
	}
}

func TestPublicReportHidesNamesAndErrors(t *testing.T) {
	reg := newRegistry(t, registry.DefaultLimits())
	admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 1<<20)
	db := &switchDB{}
	db.down.Store(true)
	m := New(Options{DataDir: t.TempDir(), Database: db, Registry: reg, Resources: fixedResources(t, 10), Layers: &sandbox.Layers{},
		Confinement: func() Confinement { return Confinement{SelfTest: &Check{Err: "bwrap: /srv/secret-path"}} }})
	full := m.Health(context.Background())
	pub := full.Public()
	b, _ := json.Marshal(pub)
	if full.Sandbox == nil || full.Sandbox.SelfTest == nil || full.Sandbox.SelfTest.Error == "" {
		t.Fatalf("the full report lacks the self-test's error: %+v", full.Sandbox)
	}
	if strings.Contains(string(b), "alice") || strings.Contains(string(b), "connection refused") || strings.Contains(string(b), "secret-path") {
		t.Fatalf("public report leaks: %s", b)
	}
	if full.Processes.BusiestUsers == nil || full.Database.Error == "" {
		t.Fatal("Public changed the full report")
	}
	if pub.Status != StatusDegraded || pub.Processes.Total != 1 {
		t.Fatalf("public report lost the figures: %s", b)
	}
}

func TestProbeStorage(t *testing.T) {
	dir := t.TempDir()
	if err := ProbeStorage(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("the probe left %d files", len(left))
	}
	if err := ProbeStorage(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing folder passed the probe")
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if err := ProbeStorage(f); err == nil {
		t.Fatal("a file passed the probe as a folder")
	}
}

func TestProbeTimesOut(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := timed(context.Background(), 50*time.Millisecond, func(context.Context) error { <-block; return nil })
	if c.OK || !strings.Contains(c.Err, "no answer") {
		t.Fatalf("a hanging probe: %+v", c)
	}
}
