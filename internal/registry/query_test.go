package registry

import (
	"strings"
	"testing"
	"time"
)

func TestSnapshotSortedAndCopied(t *testing.T) {
	r, c := newTest(t, DefaultLimits())
	run(t, r, "b1", "bob", "b.py")
	c.Advance(time.Second)
	run(t, r, "a2", "alice", "z.py")
	c.Advance(time.Second)
	run(t, r, "a1", "alice", "y.py")
	c.Advance(time.Second)
	admit(t, r, "a0", "alice", "", KindREPL) // same instant as nothing else: after a1

	got := r.Snapshot()
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if want := "a2 a1 a0 b1"; strings.Join(ids, " ") != want {
		t.Errorf("order %v, want %s", ids, want)
	}
	got[0].Owner = "mallory"
	if p, _ := r.Get("a2"); p.Owner != "alice" {
		t.Error("changing a snapshot changed the registry")
	}
	mine := r.ByOwner("alice")
	if len(mine) != 3 || mine[0].ID != "a2" || mine[2].ID != "a0" {
		t.Errorf("ByOwner: %+v", mine)
	}
	if none := r.ByOwner("nobody"); len(none) != 0 {
		t.Errorf("ByOwner(nobody): %+v", none)
	}
	if _, ok := r.Get("nobody"); ok {
		t.Error("Get found an unknown id")
	}
}

func TestProcessFields(t *testing.T) {
	r, c := newTest(t, DefaultLimits())
	r.Connected("alice")
	t0 := c.Now()
	admit(t, r, "p", "alice", "Local/alice/a.py", KindScript)
	p, _ := r.Get("p")
	if p.State != StateStarting || p.PID != 0 || !p.StartedAt.IsZero() || !p.AdmittedAt.Equal(t0) || !p.OwnerConnected {
		t.Errorf("before start: %+v", p)
	}
	c.Advance(time.Second)
	if err := r.Started("p", 4242, 777); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	r.Sample("p", 12*MiB, 0.75)
	p, _ = r.Get("p")
	want := Process{
		ID: "p", Owner: "alice", Path: "Local/alice/a.py", Kind: KindScript, State: StateRunning,
		PID: 4242, PIDStart: 777,
		AdmittedAt: t0, StartedAt: t0.Add(time.Second), StateSince: t0.Add(time.Second), LastActivity: t0.Add(3 * time.Second),
		MemoryBytes: 12 * MiB, CPUSeconds: 0.75, Sampled: true,
		RunTime: 2 * time.Second, OwnerConnected: true,
	}
	if p != want {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestStats(t *testing.T) {
	l := DefaultLimits()
	r, _ := newTest(t, l)
	r.Connected("alice")
	r.Connected("alice")
	r.Connected("bob")
	run(t, r, "a1", "alice", "a.py")
	run(t, r, "a2", "alice", "b.py")
	r.SetState("a2", StateWaitingInput)
	admit(t, r, "b1", "bob", "", KindREPL)
	start(t, r, "b1")
	r.SetState("b1", StateIdle)
	admit(t, r, "b2", "bob", "", KindREPL) // not started: charged 50 MiB, measured 0
	r.Sample("a1", 10*MiB, 1)
	r.Sample("a2", 20*MiB, 1)
	r.Sample("b1", 5*MiB, 1)
	if _, err := r.Admit(Request{ID: "a3", Owner: "alice", Path: "a.py", Kind: KindScript}); err != nil {
		t.Fatal(err) // replaces a1
	}

	s := r.Stats()
	check := func(name string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	check("ActiveUsers", int64(s.ActiveUsers), 2)
	check("Processes", int64(s.Processes), 5)
	check("Replacing", int64(s.Replacing), 1)
	check("Connected", int64(s.Connected), 2)
	check("scripts", int64(s.ByKind[KindScript]), 3)
	check("repls", int64(s.ByKind[KindREPL]), 2)
	check("starting", int64(s.ByState[StateStarting]), 2)
	check("running", int64(s.ByState[StateRunning]), 1)
	check("waiting", int64(s.ByState[StateWaitingInput]), 1)
	check("idle", int64(s.ByState[StateIdle]), 1)
	check("memory", s.MemoryBytes, 35*MiB)
	check("script memory", s.MemoryByKind[KindScript], 30*MiB)
	check("repl memory", s.MemoryByKind[KindREPL], 5*MiB)
	check("headroom processes", int64(s.Headroom.Processes), int64(l.MaxTotal-4))
	check("headroom users", int64(s.Headroom.Users), int64(l.MaxActiveUsers-2))
	// a2 20 + b1 5 + b2 and a3 unmeasured at 50 each; a1 is being replaced.
	check("headroom memory", s.Headroom.MemoryBytes, l.MemoryTotal-125*MiB)
	if s.Limits != l {
		t.Errorf("limits %+v", s.Limits)
	}

	empty, _ := newTest(t, l)
	es := empty.Stats()
	if len(es.ByKind) != len(Kinds()) || len(es.ByState) != 4 || len(es.MemoryByKind) != len(Kinds()) {
		t.Errorf("an empty registry must still list every kind and state: %+v", es)
	}
}

func TestSetLimits(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	run(t, r, "a1", "alice", "a.py")
	run(t, r, "a2", "alice", "b.py")
	admit(t, r, "a3", "alice", "", KindREPL) // unmeasured

	lower := DefaultLimits()
	lower.MaxPerUser = 1
	lower.MemoryPerProc = 10 * MiB
	if err := r.SetLimits(lower); err != nil {
		t.Fatal(err)
	}
	if got := r.Limits(); got != lower {
		t.Errorf("Limits() = %+v", got)
	}
	if n := len(r.ByOwner("alice")); n != 3 {
		t.Errorf("lowering a limit removed processes: %d left", n)
	}
	if _, err := r.Admit(Request{ID: "a4", Owner: "alice", Kind: KindREPL}); err == nil {
		t.Error("admitted over the lowered limit")
	}
	// The unmeasured charge follows MemoryPerProc (3 unmeasured × 10 MiB).
	if got := r.Stats().Headroom.MemoryBytes; got != lower.MemoryTotal-30*MiB {
		t.Errorf("headroom %d after lowering MemoryPerProc", got)
	}
	bad := lower
	bad.MaxTotal = 0
	if err := r.SetLimits(bad); err == nil {
		t.Error("accepted MaxTotal 0")
	}
	if r.Limits() != lower {
		t.Error("a refused SetLimits changed the limits")
	}
	if err := r.checkBooks(false); err != nil {
		t.Error(err)
	}
}

func TestProcessCharge(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	l := r.Limits()
	run(t, r, "a1", "alice", "Local/alice/a.py")
	if p, _ := r.Get("a1"); p.Charge(l) != l.MemoryPerProc {
		t.Errorf("unmeasured: charge %d, want the full allowance %d", p.Charge(l), l.MemoryPerProc)
	}
	r.Sample("a1", 3*MiB, 0.1)
	if p, _ := r.Get("a1"); p.Charge(l) != 3*MiB {
		t.Errorf("measured: charge %d, want 3 MiB", p.Charge(l))
	}
	run(t, r, "a2", "alice", "Local/alice/a.py") // replaces a1
	if p, _ := r.Get("a1"); p.Charge(l) != 0 {
		t.Errorf("replaced: charge %d, want 0", p.Charge(l))
	}
}
