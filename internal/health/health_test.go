package health

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/monitor/monitortest"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

func TestHealthOKThenDatabaseDownThenBack(t *testing.T) {
	reg := monitortest.Registry(t, registry.DefaultLimits())
	monitortest.Admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 20<<20)
	monitortest.Admit(t, reg, "p2", "alice", "", registry.KindREPL, 10<<20)
	monitortest.Admit(t, reg, "p3", "bob", "Local/bob/b.py", registry.KindScript, 5<<20)
	reg.Connected("alice")
	db := &monitortest.DB{}
	layers := sandbox.Layers{Cgroup: "v2", Namespaces: true, Seccomp: true, Rlimits: true, UIDDrop: true}
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Database: db, Registry: reg, Layers: &layers,
		Resources: monitortest.Resources(t, 30), OpenWebSockets: func() int { return 1 }, WarmInterpreters: func() int { return 3 }})

	r := Of(context.Background(), m)
	if r.Status != StatusOK || len(r.Reasons) != 0 {
		t.Fatalf("want ok, got %s %+v", r.Status, r.Reasons)
	}
	if !r.Database.OK || !r.Storage.OK || r.Database.Dialect != "postgres" || r.Database.Pool.MaxOpen != 10 {
		t.Errorf("checks: %+v %+v", r.Database, r.Storage)
	}
	if r.Memory.Source != monitor.SourceHost || r.Memory.Percent < 29 || r.Memory.Percent > 31 || r.CPU.Percent != nil {
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

	db.Down.Store(true)
	r = Of(context.Background(), m)
	if r.Status != StatusDegraded || len(r.Reasons) != 1 || r.Reasons[0].Check != "database" || r.Database.OK || r.Database.Error == "" {
		t.Fatalf("database down: %s %+v %+v", r.Status, r.Reasons, r.Database)
	}
	if !firing(r, "PythonIDE-DatabaseUnhealthy") {
		t.Errorf("the database alarm is not firing: %+v", r.Alarms)
	}
	db.Down.Store(false)
	if r = Of(context.Background(), m); r.Status != StatusOK {
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
	m := monitor.New(monitor.Options{DataDir: filepath.Join(t.TempDir(), "gone"), Resources: monitortest.Resources(t, 10)})
	r := Of(context.Background(), m)
	if r.Status != StatusUnhealthy || r.Storage.OK || r.Storage.Error == "" || !firing(r, "PythonIDE-StorageUnavailable") {
		t.Fatalf("want unhealthy storage, got %s %+v %+v", r.Status, r.Reasons, r.Storage)
	}
}

func TestHealthMemoryOverTheLineShedsAndDegrades(t *testing.T) {
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Resources: monitortest.Resources(t, 90)})
	r := Of(context.Background(), m)
	if r.Status != StatusDegraded || r.Degradation.Shedding != "memory" || r.Reasons[0].Check != "memory" || !firing(r, "PythonIDE-HighMemory") {
		t.Fatalf("got %s %+v %+v", r.Status, r.Reasons, r.Degradation)
	}
	if err := m.Gate().Check(); err == nil {
		t.Fatal("the gate let a run through over the memory line")
	}
	if r = Of(context.Background(), m); r.Degradation.RefusedMemory != 1 {
		t.Fatalf("the refusal does not show: %+v", r.Degradation)
	}
}

func TestEvaluateCases(t *testing.T) {
	limits := registry.DefaultLimits()
	full := registry.Stats{Processes: 114, ActiveUsers: 38, Connected: 38, Limits: limits}
	cases := []struct {
		name    string
		snap    monitor.Snapshot
		status  Status
		reasons []string
	}{
		{"not probed yet is not a failure", monitor.Snapshot{Usage: monitor.Usage{MemoryLimit: 1, MemoryPercent: 1}}, StatusOK, nil},
		{"limits reached", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true}, Registry: &full},
			StatusDegraded, []string{"processes", "users", "alarm"}},
		{"storage and database", monitor.Snapshot{Probed: true}, StatusUnhealthy, []string{"storage", "database"}},
		{"cpu queue", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true}, Gate: degrade.State{Shedding: "cpu", CPULine: 80}},
			StatusDegraded, []string{"cpu"}},
		{"blind", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true}, UsageErr: "no /proc"},
			StatusDegraded, []string{"resources"}},
		{"a confinement layer lost", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: monitor.Confinement{Lost: "the cgroup subtree vanished", SelfTest: &monitor.Check{OK: true}}},
			StatusDegraded, []string{"sandbox"}},
		{"self-test failed", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: monitor.Confinement{SelfTest: &monitor.Check{Err: "bwrap: permission denied"}}},
			StatusDegraded, []string{"sandbox"}},
		{"self-test passed, subtree made again", monitor.Snapshot{Probed: true, Database: monitor.Check{OK: true}, Storage: monitor.Check{OK: true},
			Layers: &sandbox.Layers{Cgroup: "v2"}, Confinement: monitor.Confinement{CgroupRecreated: 1, SelfTest: &monitor.Check{OK: true}}},
			StatusOK, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Evaluate(c.snap, alarms.Alarms(80, 85, 35))
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
	reg := monitortest.Registry(t, registry.DefaultLimits())
	monitortest.Admit(t, reg, "p1", "alice", "Local/alice/a.py", registry.KindScript, 1<<20)
	db := &monitortest.DB{}
	db.Down.Store(true)
	m := monitor.New(monitor.Options{DataDir: t.TempDir(), Database: db, Registry: reg, Resources: monitortest.Resources(t, 10), Layers: &sandbox.Layers{},
		Confinement: func() monitor.Confinement {
			return monitor.Confinement{SelfTest: &monitor.Check{Err: "bwrap: /srv/secret-path"}}
		}})
	full := Of(context.Background(), m)
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
