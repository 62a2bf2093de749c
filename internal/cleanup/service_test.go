package cleanup

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stopper records what the cleanup service asked to stop.
type stopper struct {
	mu      sync.Mutex
	stopped map[string]registry.Reason
	refs    map[string]string // the references given with stops, by id
	panics  bool
}

func (s *stopper) StopID(id string, reason registry.Reason, _, ref string) bool {
	if s.panics {
		panic("stopper broke")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped[id] = reason
	if ref != "" && s.refs != nil {
		s.refs[id] = ref
	}
	return true
}

func newRegistry(t *testing.T) (*registry.Registry, *clock) {
	c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	l := registry.DefaultLimits()
	l.IdleTimeout = time.Minute
	reg, err := registry.New(l, c)
	if err != nil {
		t.Fatal(err)
	}
	return reg, c
}

func TestSweepStopsOnlyWhatTheRegistryDecides(t *testing.T) {
	reg, c := newRegistry(t)
	reg.Connected("alice")
	for _, id := range []string{"idle", "busy", "stuck"} {
		if _, err := reg.Admit(registry.Request{ID: id, Owner: "alice", Kind: registry.KindREPL}); err != nil {
			t.Fatal(err)
		}
	}
	reg.Started("idle", 1001, 1)
	reg.Started("busy", 1002, 1)
	c.add(50 * time.Second)
	reg.Activity("busy")
	c.add(20 * time.Second) // idle: 70 s without activity; busy: 20 s; stuck: 70 s starting
	st := &stopper{stopped: map[string]registry.Reason{}, refs: map[string]string{}}
	svc := New(reg, st, time.Second, quiet)
	var swept []Decision
	svc.Swept = func(ds []Decision) { swept = ds }
	ds := svc.Sweep()
	if len(ds) != 2 || st.stopped["idle"] != registry.ReasonIdle || st.stopped["stuck"] != registry.ReasonError || len(st.stopped) != 2 || len(swept) != 2 {
		t.Fatalf("decisions %+v, stopped %v", ds, st.stopped)
	}
	// The start that timed out is stopped with the reference its message gives.
	if ref := registry.RefFor("stuck"); st.refs["stuck"] != ref || len(st.refs) != 1 {
		t.Fatalf("references given %v, want stuck's %s only", st.refs, ref)
	}
}

func TestAPanickingSweepDoesNotStopTheService(t *testing.T) {
	reg, c := newRegistry(t)
	reg.Connected("bob")
	reg.Admit(registry.Request{ID: "p", Owner: "bob", Kind: registry.KindREPL})
	reg.Started("p", 2001, 1)
	c.add(2 * time.Minute)
	st := &stopper{stopped: map[string]registry.Reason{}, panics: true}
	svc := New(reg, st, 10*time.Millisecond, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	time.Sleep(100 * time.Millisecond) // several sweeps, each panicking
	st.mu.Lock()
	st.panics = false
	st.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st.mu.Lock()
		n := len(st.stopped)
		st.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if st.stopped["p"] != registry.ReasonIdle {
		t.Fatalf("the service did not go on sweeping after panics: %v", st.stopped)
	}
}
