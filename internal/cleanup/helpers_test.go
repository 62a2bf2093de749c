package cleanup

import (
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTest(t testing.TB, l registry.Limits) (*registry.Registry, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)}
	r, err := registry.New(l, c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, c
}

// sweep is what one sweep of the service decides for r, now.
func sweep(r *registry.Registry) []Decision { return Decide(r.View()) }

// admit admits a process, failing the test on any error.
func admit(t testing.TB, r *registry.Registry, id, owner, path string, kind registry.Kind) {
	t.Helper()
	if _, err := r.Admit(registry.Request{ID: id, Owner: owner, Path: path, Kind: kind}); err != nil {
		t.Fatalf("Admit(%s): %v", id, err)
	}
}

var nextPID = struct {
	sync.Mutex
	n int
}{n: 1000}

func start(t testing.TB, r *registry.Registry, id string) {
	t.Helper()
	nextPID.Lock()
	nextPID.n++
	pid := nextPID.n
	nextPID.Unlock()
	if err := r.Started(id, pid, uint64(pid)*7); err != nil {
		t.Fatalf("Started(%s): %v", id, err)
	}
}

// run admits and starts a script.
func run(t testing.TB, r *registry.Registry, id, owner, path string) {
	t.Helper()
	admit(t, r, id, owner, path, registry.KindScript)
	start(t, r, id)
}
