package cleanup

import (
	"testing"

	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

func TestWallClockExcludesWaiting(t *testing.T) {
	r, c := newTest(t, registry.DefaultLimits())
	r.Connected("alice")
	run(t, r, "a1", "alice", "Local/alice/a.py")

	steps := []struct {
		state registry.State
		d     time.Duration
	}{
		{registry.StateRunning, 100 * time.Second},
		{registry.StateWaitingInput, 9 * time.Minute}, // under the input timeout
		{registry.StateRunning, 150 * time.Second},
		{registry.StateIdle, 20 * time.Minute}, // the script ended; its REPL waits
		{registry.StateRunning, 49 * time.Second},
	}
	var wantRun, wantWait time.Duration
	for _, s := range steps {
		if !r.SetState("a1", s.state) {
			t.Fatalf("SetState(%s) refused", s.state)
		}
		c.Advance(s.d)
		if s.state == registry.StateRunning {
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
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("stopped at %s of running: %+v", wantRun, d)
	}
	c.Advance(time.Second) // exactly 300 s: at the limit is not over it
	r.Activity("a1")
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("stopped at exactly the limit: %+v", d)
	}
	c.Advance(time.Nanosecond)
	want := []Decision{{ID: "a1", Reason: registry.ReasonTimeout, Message: registry.ReasonTimeout.Message(registry.DefaultLimits())}}
	if d := sweep(r); len(d) != 1 || d[0] != want[0] {
		t.Fatalf("got %+v, want %+v", d, want)
	}
	// The sweep decided, it did not act.
	if _, held := r.Get("a1"); !held {
		t.Fatal("Sweep removed the process")
	}
}

// TestSweepBoundaries puts each rule just under and just over its limit.
func TestSweepBoundaries(t *testing.T) {
	l := registry.DefaultLimits()
	tests := []struct {
		name string
		// prepare leaves the process one nanosecond (or byte) short of the
		// limit; cross takes it over.
		prepare func(r *registry.Registry, c *fakeClock)
		cross   func(r *registry.Registry, c *fakeClock)
		reason  registry.Reason
		message string
		ref     string
	}{
		{
			name: "never started",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Kind: registry.KindREPL})
				c.Advance(l.StartTimeout)
			},
			cross:  func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason: registry.ReasonError,
			message: "Your program could not be started because the server took too long to start it. " +
				"This is a problem on the server, not in your program. " +
				"Try again in a minute; if it keeps happening, tell your teacher and give them the reference " + registry.RefFor("p") + ".",
			ref: registry.RefFor("p"),
		},
		{
			name: "memory",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Kind: registry.KindREPL})
				r.Started("p", 42, 1)
				r.Sample("p", l.MemoryPerProc, 1)
			},
			cross:   func(r *registry.Registry, c *fakeClock) { r.Sample("p", l.MemoryPerProc+1, 1) },
			reason:  registry.ReasonMemoryLimit,
			message: "Stopped: your program used more than 50 MB of memory.",
		},
		{
			name: "wall clock",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Path: "a.py", Kind: registry.KindScript})
				r.Started("p", 42, 1)
				c.Advance(l.WallClock)
			},
			cross:   func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  registry.ReasonTimeout,
			message: "Stopped: your program ran for more than 5 minutes (time spent waiting for input does not count).",
		},
		{
			name: "waiting for input",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Path: "a.py", Kind: registry.KindScript})
				r.Started("p", 42, 1)
				r.SetState("p", registry.StateWaitingInput)
				c.Advance(l.InputTimeout)
			},
			cross:   func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  registry.ReasonIdle,
			message: "Stopped: your program waited more than 10 minutes for input.",
		},
		{
			name: "idle REPL",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Kind: registry.KindREPL})
				r.Started("p", 42, 1)
				r.SetState("p", registry.StateIdle)
				c.Advance(l.IdleTimeout)
			},
			cross:   func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  registry.ReasonIdle,
			message: "Stopped: your program did nothing for 30 minutes.",
		},
		{
			name: "idle REPL measured without CPU progress",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Kind: registry.KindREPL})
				r.Started("p", 42, 1)
				r.Sample("p", registry.MiB, 0.5)
				r.SetState("p", registry.StateIdle)
				c.Advance(l.IdleTimeout)
				r.Sample("p", 2*registry.MiB, 0.5) // memory moved, CPU did not: still idle
			},
			cross:   func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  registry.ReasonIdle,
			message: "Stopped: your program did nothing for 30 minutes.",
		},
		{
			name: "abandoned",
			prepare: func(r *registry.Registry, c *fakeClock) {
				r.Admit(registry.Request{ID: "p", Owner: "alice", Kind: registry.KindREPL})
				r.Started("p", 42, 1)
				r.SetState("p", registry.StateIdle)
				r.Disconnected("alice")
				c.Advance(l.AbandonGrace)
			},
			cross:   func(r *registry.Registry, c *fakeClock) { c.Advance(time.Nanosecond) },
			reason:  registry.ReasonAbandoned,
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
			if d := sweep(r); len(d) != 0 {
				t.Fatalf("just under the limit: %+v", d)
			}
			tt.cross(r, c)
			d := sweep(r)
			want := Decision{ID: "p", Reason: tt.reason, Message: tt.message, Ref: tt.ref}
			if len(d) != 1 || d[0] != want {
				t.Fatalf("just over the limit: got %+v, want %+v", d, want)
			}
			// Pure: the same sweep again gives the same answer, until Remove.
			if again := sweep(r); len(again) != 1 || again[0] != want {
				t.Fatalf("second sweep: %+v", again)
			}
			r.Remove("p")
			if d := sweep(r); len(d) != 0 {
				t.Fatalf("after Remove: %+v", d)
			}
		})
	}
}

func TestActivityKeepsAlive(t *testing.T) {
	l := registry.DefaultLimits()
	tests := []struct {
		name  string
		touch func(r *registry.Registry, cpu *float64)
	}{
		{"output or input", func(r *registry.Registry, _ *float64) { r.Activity("p") }},
		{"CPU progress", func(r *registry.Registry, cpu *float64) { *cpu += 0.01; r.Sample("p", registry.MiB, *cpu) }},
		{"state change", func(r *registry.Registry, _ *float64) {
			r.SetState("p", registry.StateRunning)
			r.SetState("p", registry.StateIdle)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newTest(t, l)
			r.Connected("alice")
			admit(t, r, "p", "alice", "", registry.KindREPL)
			start(t, r, "p")
			r.SetState("p", registry.StateIdle)
			cpu := 0.0
			// Two hours in 20-minute steps, touched at each: never idle.
			for range 6 {
				c.Advance(20 * time.Minute)
				tt.touch(r, &cpu)
				if d := sweep(r); len(d) != 0 {
					t.Fatalf("stopped although active: %+v", d)
				}
			}
			c.Advance(l.IdleTimeout + time.Nanosecond)
			if d := sweep(r); len(d) != 1 || d[0].Reason != registry.ReasonIdle {
				t.Fatalf("not stopped once untouched: %+v", d)
			}
		})
	}
}

func TestWaitingForInputIsNotIdle(t *testing.T) {
	l := registry.DefaultLimits()
	l.InputTimeout = 40 * time.Minute // longer than IdleTimeout, so only the input rule may fire
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", registry.StateWaitingInput)
	c.Advance(35 * time.Minute)
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("the idle rule fired while waiting for input: %+v", d)
	}
	// Input arrives: the program runs again and the input clock starts over.
	r.Activity("p")
	r.SetState("p", registry.StateRunning)
	r.SetState("p", registry.StateWaitingInput)
	c.Advance(39 * time.Minute)
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("the input wait was not reset: %+v", d)
	}
	c.Advance(time.Minute + time.Nanosecond)
	if d := sweep(r); len(d) != 1 || d[0].Message != registry.InputTimeoutMessage(l) {
		t.Fatalf("got %+v, want the input timeout", d)
	}
}

func TestReconnectWithinGrace(t *testing.T) {
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", registry.StateIdle)

	r.Disconnected("alice")
	c.Advance(l.AbandonGrace - time.Second)
	r.Connected("alice")
	c.Advance(10 * time.Minute)
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("stopped after a reconnect within the grace: %+v", d)
	}
	if p, _ := r.Get("p"); !p.OwnerConnected {
		t.Error("owner not shown as connected")
	}
	// A new disconnection starts a new grace, not the old one's remainder.
	r.Disconnected("alice")
	c.Advance(l.AbandonGrace)
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("the second grace was shortened: %+v", d)
	}
	c.Advance(time.Nanosecond)
	if d := sweep(r); len(d) != 1 || d[0].Reason != registry.ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
}

func TestConnectionsRefcountedAcrossTabs(t *testing.T) {
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice") // tab 1
	r.Connected("alice") // tab 2
	run(t, r, "p", "alice", "a.py")
	r.SetState("p", registry.StateIdle)

	r.Disconnected("alice") // tab 1 closed; tab 2 still open
	c.Advance(l.AbandonGrace * 10)
	r.Activity("p")
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("abandoned with a tab still open: %+v", d)
	}
	r.Disconnected("alice") // tab 2 closed
	r.Disconnected("alice") // an extra close must not leave the count negative
	c.Advance(l.AbandonGrace + time.Nanosecond)
	if d := sweep(r); len(d) != 1 || d[0].Reason != registry.ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
	r.Connected("alice") // one new tab: connected again, despite the extra close
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("still abandoned after reconnecting: %+v", d)
	}
}

func TestNeverConnectedOwnerIsAbandoned(t *testing.T) {
	// A process whose owner never had a connection is nobody's: it goes
	// after the grace, measured from its admission.
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	run(t, r, "p", "alice", "a.py")
	c.Advance(l.AbandonGrace)
	r.Activity("p")
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("stopped within the grace: %+v", d)
	}
	c.Advance(time.Nanosecond)
	if d := sweep(r); len(d) != 1 || d[0].Reason != registry.ReasonAbandoned {
		t.Fatalf("got %+v, want abandoned", d)
	}
}

func TestAdmitRestartsGraceOfDisconnectedOwner(t *testing.T) {
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	r.Connected("alice")
	run(t, r, "p1", "alice", "a.py")
	r.Disconnected("alice")
	c.Advance(l.AbandonGrace - time.Second)
	run(t, r, "p2", "alice", "b.py")
	c.Advance(2 * time.Second)
	if d := sweep(r); len(d) != 0 {
		t.Fatalf("an admission did not count as presence: %+v", d)
	}
}

func TestSweepPriorityAndOrder(t *testing.T) {
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	// b: over memory and over time and abandoned: memory wins.
	run(t, r, "b", "bob", "b.py")
	// a: over time and abandoned: timeout wins.
	run(t, r, "a", "alice", "a.py")
	// c: a bare REPL that is only abandoned.
	admit(t, r, "c", "carol", "", registry.KindREPL)
	start(t, r, "c")
	r.SetState("c", registry.StateIdle)
	c.Advance(l.WallClock + time.Second)
	r.Activity("c")
	r.Sample("b", l.MemoryPerProc*2, 1)
	got := sweep(r)
	want := []Decision{
		{ID: "a", Reason: registry.ReasonTimeout, Message: registry.ReasonTimeout.Message(l)},
		{ID: "b", Reason: registry.ReasonMemoryLimit, Message: registry.ReasonMemoryLimit.Message(l)},
		{ID: "c", Reason: registry.ReasonAbandoned, Message: registry.ReasonAbandoned.Message(l)},
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
	l := registry.DefaultLimits()
	r, c := newTest(t, l)
	for _, id := range []string{"a", "b", "c", "d"} {
		admit(t, r, id, "user-"+id, "", registry.KindREPL)
	}
	start(t, r, "a")
	start(t, r, "b")
	r.Remove("b")
	c.Advance(24 * time.Hour)
	held := map[string]bool{}
	for _, p := range r.Snapshot() {
		held[p.ID] = true
	}
	d := sweep(r)
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
