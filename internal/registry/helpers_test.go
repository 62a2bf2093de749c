package registry

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)}
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

func newTest(t testing.TB, l Limits) (*Registry, *fakeClock) {
	t.Helper()
	c := newFakeClock()
	r, err := New(l, c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, c
}

// admit admits and starts a process, failing the test on any error.
func admit(t testing.TB, r *Registry, id, owner, path string, kind Kind) {
	t.Helper()
	if _, err := r.Admit(Request{ID: id, Owner: owner, Path: path, Kind: kind}); err != nil {
		t.Fatalf("Admit(%s): %v", id, err)
	}
}

var nextPID = struct {
	sync.Mutex
	n int
}{n: 1000}

func start(t testing.TB, r *Registry, id string) {
	t.Helper()
	nextPID.Lock()
	nextPID.n++
	pid := nextPID.n
	nextPID.Unlock()
	if err := r.Started(id, pid, uint64(pid)*7); err != nil {
		t.Fatalf("Started(%s): %v", id, err)
	}
}

// run admits and starts a script for a connected owner.
func run(t testing.TB, r *Registry, id, owner, path string) {
	t.Helper()
	admit(t, r, id, owner, path, KindScript)
	start(t, r, id)
}

// checkInvariants recomputes everything the registry keeps incrementally
// and compares, and checks the limits hold for what counts.
func (r *Registry) checkInvariants() error { return r.checkBooks(true) }

// checkBooks is checkInvariants without the limits, for after a SetLimits
// that lowered them under what already runs.
func (r *Registry) checkBooks(withinLimits bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	counted, users, charged := 0, 0, int64(0)
	started := 0
	seen := 0
	for name, o := range r.owners {
		if o.conns < 0 {
			return fmt.Errorf("owner %s has %d connections", name, o.conns)
		}
		if o.conns == 0 && len(o.procs) == 0 {
			return fmt.Errorf("owner %s kept with nothing to keep", name)
		}
		mine := 0
		for id, p := range o.procs {
			seen++
			if r.procs[id] != p || p.owner != name {
				return fmt.Errorf("owner %s index disagrees on %s", name, id)
			}
			if p.counted() {
				mine++
			}
		}
		if mine != o.counted {
			return fmt.Errorf("owner %s counted %d, recomputed %d", name, o.counted, mine)
		}
		if withinLimits && mine > r.limits.MaxPerUser {
			return fmt.Errorf("owner %s has %d processes, limit %d", name, mine, r.limits.MaxPerUser)
		}
		counted += mine
		if mine > 0 {
			users++
		}
	}
	if seen != len(r.procs) {
		return fmt.Errorf("owners index %d processes, registry %d", seen, len(r.procs))
	}
	for id, p := range r.procs {
		if c := r.chargeOf(p); c != p.charged {
			return fmt.Errorf("%s charged %d, should be %d", id, p.charged, c)
		}
		charged += p.charged
		if p.pid != 0 {
			started++
			if r.pids[pidKey{p.pid, p.pidStart}] != id {
				return fmt.Errorf("pid index misses %s", id)
			}
		}
	}
	if started != len(r.pids) {
		return fmt.Errorf("pid index has %d, started processes %d", len(r.pids), started)
	}
	if counted != r.counted || users != r.activeUsers || charged != r.charged {
		return fmt.Errorf("totals: counted %d/%d users %d/%d charged %d/%d",
			r.counted, counted, r.activeUsers, users, r.charged, charged)
	}
	if withinLimits && (counted > r.limits.MaxTotal || users > r.limits.MaxActiveUsers) {
		return fmt.Errorf("over the limits: %d processes, %d users", counted, users)
	}
	return nil
}

func mustInvariants(t testing.TB, r *Registry) {
	t.Helper()
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}
