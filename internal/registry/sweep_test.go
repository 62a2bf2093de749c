package registry

import (
	"testing"
	"time"
)

func TestWallClockExcludesWaiting(t *testing.T) {
	r, c := newTest(t, DefaultLimits())
	r.Connected("alice")
	run(t, r, "a1", "alice", "Local/alice/a.py")

	steps := []struct {
		state State
		d     time.Duration
	}{
		{StateRunning, 100 * time.Second},
		{StateWaitingInput, 9 * time.Minute}, // under the input timeout
		{StateRunning, 150 * time.Second},
		{StateIdle, 20 * time.Minute}, // the script ended; its REPL waits
		{StateRunning, 49 * time.Second},
	}
	var wantRun, wantWait time.Duration
	for _, s := range steps {
		if !r.SetState("a1", s.state) {
			t.Fatalf("SetState(%s) refused", s.state)
		}
		c.Advance(s.d)
		if s.state == StateRunning {
			wantRun += s.d
		} else {
			wantWait += s.d
		}
		p, _ := r.Get("a1")
		if p.RunTime != wantRun || p.WaitTime != wantWait {
			t.Fatalf("after %s for %s: run %s wait %s, want %s and %s", s.state, s.d, p.RunTime, p.WaitTime, wantRun, wantWait)
		}
		r.Activity("a1") // keep the idle rule out of this test
	}
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("stopped at %s of running: %+v", wantRun, d)
	}
	c.Advance(time.Second) // exactly 300 s: at the limit is not over it
	r.Activity("a1")
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("stopped at exactly the limit: %+v", d)
	}
	c.Advance(time.Nanosecond)
	want := []Decision{{ID: "a1", Reason: ReasonTimeout, Message: ReasonTimeout.Message(DefaultLimits())}}
	if d := r.Sweep(); len(d) != 1 || d[0] != want[0] {
		t.Fatalf("got %+v, want %+v", d, want)
	}
	// The sweep decided, it did not act.
	if _, held := r.Get("a1"); !held {
		t.Fatal("Sweep removed the process")
	}
}

func TestSetStateRules(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	admit(t, r, "a1", "alice", "Local/alice/a.py", KindScript)
	if r.SetState("a1", StateRunning) {
		t.Error("state set before Started")
	}
	if r.Sample("a1", MiB, 1) {
		t.Error("sample accepted before Started")
	}
	start(t, r, "a1")
	for _, s := range []State{StateStarting, "sleeping", ""} {
		if r.SetState("a1", s) {
			t.Errorf("SetState(%q) accepted", s)
		}
	}
	if r.SetState("gone", StateRunning) || r.Activity("gone") || r.Sample("gone", 1, 1) {
		t.Error("an unknown id was updated")
	}
	r.SetState("a1", StateWaitingInput)
	if p, _ := r.Get("a1"); p.Kind != KindScript {
		t.Errorf("waiting for input changed the kind to %s", p.Kind)
	}
	r.SetState("a1", StateIdle)
	if p, _ := r.Get("a1"); p.Kind != KindREPL || p.Path != "Local/alice/a.py" {
		t.Errorf("a script at the REPL prompt: %+v", p)
	}
	if st := r.Stats(); st.ByKind[KindREPL] != 1 || st.ByKind[KindScript] != 0 || st.ByState[StateIdle] != 1 {
		t.Errorf("stats: %+v", st)
	}
}

// TestSweepBoundaries puts each rule just under and just over its limit.
func TestSweepBoundaries(t *testing.T) {
	l := DefaultLimits()
	tests := []struct {
		name string
		// prepare leaves the process one nanosecond (or byte) short of the
		// limit; cross takes it over.
		prepare func(r *Registry, c *fakeClock)
		cross   func(r *Registry, c *fakeClock)
		reason  Reason
		message string
	}{
		{
			name: "never started",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Kind: KindREPL})
				c.Advance(l.StartTimeout)
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonError,
			message: "The program could not be started. Please try again.",
		},
		{
			name: "memory",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Kind: KindREPL})
				r.Started("p", 42, 1)
				r.Sample("p", l.MemoryPerProc, 1)
			},
			cross:   func(r *Registry, c *fakeClock) { r.Sample("p", l.MemoryPerProc+1, 1) },
			reason:  ReasonMemoryLimit,
			message: "Stopped: your program used more than 50 MB of memory.",
		},
		{
			name: "wall clock",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Path: "a.py", Kind: KindScript})
				r.Started("p", 42, 1)
				c.Advance(l.WallClock)
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonTimeout,
			message: "Stopped: your program ran for more than 5 minutes (time spent waiting for input does not count).",
		},
		{
			name: "waiting for input",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Path: "a.py", Kind: KindScript})
				r.Started("p", 42, 1)
				r.SetState("p", StateWaitingInput)
				c.Advance(l.InputTimeout)
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonIdle,
			message: "Stopped: your program waited more than 10 minutes for input.",
		},
		{
			name: "idle REPL",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Kind: KindREPL})
				r.Started("p", 42, 1)
				r.SetState("p", StateIdle)
				c.Advance(l.IdleTimeout)
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonIdle,
			message: "Stopped: your program did nothing for 30 minutes.",
		},
		{
			name: "idle REPL measured without CPU progress",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Kind: KindREPL})
				r.Started("p", 42, 1)
				r.Sample("p", MiB, 0.5)
				r.SetState("p", StateIdle)
				c.Advance(l.IdleTimeout)
				r.Sample("p", 2*MiB, 0.5) // memory moved, CPU did not: still idle
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonIdle,
			message: "Stopped: your program did nothing for 30 minutes.",
		},
		{
			name: "abandoned",
			prepare: func(r *Registry, c *fakeClock) {
				r.Admit(Request{ID: "p", Owner: "alice", Kind: KindREPL})
				r.Started("p", 42, 1)
				r.SetState("p", StateIdle)
				r.Disconnected("alice")
				c.Advance(l.AbandonGrace)
			},
			cross:   func(r *Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  ReasonAbandoned,
			message: "Stopped: you were disconnected for more than 1 minute.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTest(t, l)
			r.Connected("alice")
			tt.prepare(r, c)
			if _, held := r.Get("p"); !held {
				t.Fatal("prepare did not admit p")
			}
			if d := r.Sweep(); len(d) != 0 {
				t.Fatalf("just under the limit: %+v", d)
			}
			tt.cross(r, c)
			d := r.Sweep()
			want := Decision{ID: "p", Reason: tt.reason, Message: tt.message}
			if len(d) != 1 || d[0] != want {
				t.Fatalf("just over the limit: got %+v, want %+v", d, want)
			}
			// Pure: the same sweep again gives the same answer, until Remove.
			if again := r.Sweep(); len(again) != 1 || again[0] != want {
				t.Fatalf("second sweep: %+v", again)
			}
			r.Remove("p")
			if d := r.Sweep(); len(d) != 0 {
				t.Fatalf("after Remove: %+v", d)
			}
			mustInvariants(t, r)
		})
	}
}

func TestActivityKeepsAlive(t *testing.T) {
	l := DefaultLimits()
	tests := []struct {
		name  string
		touch func(r *Registry, cpu *float64)
	}{
		{"output or input", func(r *Registry, _ *float64) { r.Activity("p") }},
		{"CPU progress", func(r *Registry, cpu *float64) { *cpu += 0.01; r.Sample("p", MiB, *cpu) }},
		{"state change", func(r *Registry, _ *float64) { r.SetState("p", StateRunning); r.SetState("p", StateIdle) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTest(t, l)
			r.Connected("alice")
			admit(t, r, "p", "alice", "", KindREPL)
			start(t, r, "p")
			r.SetState("p", StateIdle)
			cpu := 0.0
			// Two hours in 20-minute steps, touched at each: never idle.
			for range 6 {
				c.Advance(20 * time.Minute)
				tt.touch(r, &cpu)
				if d := r.Sweep(); len(d) != 0 {
					t.Fatalf("stopped although active: %+v", d)
				}
			}
			c.Advance(l.IdleTimeout + time.Nanosecond)
			if d := r.Sweep(); len(d) != 1 || d[0].Reason != ReasonIdle {
				t.Fatalf("not stopped once untouched: %+v", d)
			}
		})
	}
}

func TestWaitingForInputIsNotIdle(t *testing.T) {
	l := DefaultLimits()
	l.InputTimeout = 40 * time.Minute // longer than IdleTimeout, so only the input rule may fire
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", StateWaitingInput)
	c.Advance(35 * time.Minute)
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("the idle rule fired while waiting for input: %+v", d)
	}
	// Input arrives: the program runs again and the input clock starts over.
	r.Activity("p")
	r.SetState("p", StateRunning)
	r.SetState("p", StateWaitingInput)
	c.Advance(39 * time.Minute)
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("the input wait was not reset: %+v", d)
	}
	c.Advance(time.Minute + time.Nanosecond)
	if d := r.Sweep(); len(d) != 1 || d[0].Message != inputTimeoutMessage(l) {
		t.Fatalf("got %+v, want the input timeout", d)
	}
}

func TestReconnectWithinGrace(t *testing.T) {
	l := DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", StateIdle)

	r.Disconnected("alice")
	c.Advance(l.AbandonGrace - time.Second)
	r.Connected("alice")
	c.Advance(10 * time.Minute)
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("stopped after a reconnect within the grace: %+v", d)
	}
	if p, _ := r.Get("p"); !p.OwnerConnected {
		t.Error("owner not shown as connected")
	}
	// A new disconnection starts a new grace, not the old one's remainder.
	r.Disconnected("alice")
	c.Advance(l.AbandonGrace)
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("the second grace was shortened: %+v", d)
	}
	c.Advance(time.Nanosecond)
	if d := r.Sweep(); len(d) != 1 || d[0].Reason != ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
}

func TestConnectionsRefcountedAcrossTabs(t *testing.T) {
	l := DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice") // tab 1
	r.Connected("alice") // tab 2
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", StateIdle)

	r.Disconnected("alice") // tab 1 closed; tab 2 still open
	c.Advance(l.AbandonGrace * 10)
	r.Activity("p")
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("abandoned with a tab still open: %+v", d)
	}
	r.Disconnected("alice") // tab 2 closed
	r.Disconnected("alice") // an extra close must not leave the count negative
	c.Advance(l.AbandonGrace + time.Nanosecond)
	if d := r.Sweep(); len(d) != 1 || d[0].Reason != ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
	r.Connected("alice") // one new tab: connected again, despite the extra close
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("still abandoned after reconnecting: %+v", d)
	}
	mustInvariants(t, r)
}

func TestNeverConnectedOwnerIsAbandoned(t *testing.T) {
	// A process whose owner never had a connection is nobody's: it goes
	// after the grace, measured from its admission.
	l := DefaultLimits()
	r, c := newTest(t, l)
	run(t, r, "p", "alice", "a.py")
	c.Advance(l.AbandonGrace)
	r.Activity("p")
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("stopped within the grace: %+v", d)
	}
	c.Advance(time.Nanosecond)
	if d := r.Sweep(); len(d) != 1 || d[0].Reason != ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
}

func TestAdmitRestartsGraceOfDisconnectedOwner(t *testing.T) {
	l := DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p1", "alice", "a.py")
	r.Disconnected("alice")
	c.Advance(l.AbandonGrace - time.Second)
	run(t, r, "p2", "alice", "b.py")
	c.Advance(2 * time.Second)
	if d := r.Sweep(); len(d) != 0 {
		t.Fatalf("an admission did not count as presence: %+v", d)
	}
}

func TestSweepPriorityAndOrder(t *testing.T) {
	l := DefaultLimits()
	r, c := newTest(t, l)
	// b: over memory and over time and abandoned: memory wins.
	run(t, r, "b", "bob", "b.py")
	// a: over time and abandoned: timeout wins.
	run(t, r, "a", "alice", "a.py")
	// c: a bare REPL that is only abandoned.
	admit(t, r, "c", "carol", "", KindREPL)
	start(t, r, "c")
	r.SetState("c", StateIdle)
	c.Advance(l.WallClock + time.Second)
	r.Activity("c")
	r.Sample("b", l.MemoryPerProc*2, 1)
	got := r.Sweep()
	want := []Decision{
		{ID: "a", Reason: ReasonTimeout, Message: ReasonTimeout.Message(l)},
		{ID: "b", Reason: ReasonMemoryLimit, Message: ReasonMemoryLimit.Message(l)},
		{ID: "c", Reason: ReasonAbandoned, Message: ReasonAbandoned.Message(l)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("decision %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSweepNamesOnlyHeldProcesses(t *testing.T) {
	l := DefaultLimits()
	r, c := newTest(t, l)
	for _, id := range []string{"a", "b", "c", "d"} {
		admit(t, r, id, "user-"+id, "", KindREPL)
	}
	start(t, r, "a")
	start(t, r, "b")
	r.Remove("b")
	c.Advance(24 * time.Hour)
	held := map[string]bool{}
	for _, p := range r.Snapshot() {
		held[p.ID] = true
	}
	d := r.Sweep()
	if len(d) != len(held) {
		t.Fatalf("%d decisions for %d processes: %+v", len(d), len(held), d)
	}
	for _, x := range d {
		if !held[x.ID] {
			t.Errorf("decision for %q, which the registry does not hold", x.ID)
		}
		if !x.Reason.Valid() || x.Message == "" {
			t.Errorf("decision %+v has no valid reason or message", x)
		}
	}
}
