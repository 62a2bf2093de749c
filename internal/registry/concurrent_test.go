package registry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentUse hammers one registry from many goroutines, as the
// runner, the sampler, the cleanup service and the admin page would, while
// a checker verifies the books and the limits at every moment it can see.
// Each case makes one limit the binding one and requires that it refused
// something, so a missing check cannot pass unseen. Run it with -race.
func TestConcurrentUse(t *testing.T) {
	roomy := DefaultLimits()
	roomy.MaxActiveUsers = 1000
	roomy.MaxTotal = 10000
	roomy.MemoryTotal = 1 << 40
	tests := []struct {
		name   string
		change func(*Limits)
		cause  error
	}{
		{"per user", func(*Limits) {}, ErrPerUserLimit},
		{"active users", func(l *Limits) { l.MaxActiveUsers = 30 }, ErrUsersLimit},
		{"total", func(l *Limits) { l.MaxTotal = 40 }, ErrTotalLimit},
		{"memory", func(l *Limits) { l.MemoryTotal = GiB }, ErrMemoryLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := roomy
			tt.change(&l)
			refusals := hammer(t, l)
			if refusals[tt.cause] == 0 {
				t.Errorf("no admission was refused by %v: %v", tt.cause, refusals)
			}
		})
	}
}

// hammer runs the concurrent workload and returns the refusals by cause.
func hammer(t *testing.T, l Limits) map[error]int64 {
	const (
		workers        = 16
		usersPerWorker = 6 // 96 users
		steps          = 2000
	)
	r, clock := newTest(t, l)
	causes := []error{ErrPerUserLimit, ErrUsersLimit, ErrTotalLimit, ErrMemoryLimit}
	var byCause [4]atomic.Int64
	var admitted, replacedN atomic.Int64
	var failures sync.Map
	fail := func(format string, args ...any) { failures.Store(fmt.Sprintf(format, args...), true) }

	stop := make(chan struct{})
	var side sync.WaitGroup
	side.Add(2)
	go func() { // the checker
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := r.checkInvariants(); err != nil {
				fail("invariant: %v", err)
				return
			}
			if h := r.Stats().Headroom; h.Processes < 0 || h.Users < 0 || h.MemoryBytes < 0 {
				fail("negative headroom: %+v", h)
			}
		}
	}()
	go func() { // the cleanup service: reads the view, removes what it ends
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ps, _, _ := r.View()
			for _, p := range ps {
				if p.State == StateIdle && !p.OwnerConnected {
					r.Remove(p.ID)
				}
			}
			_ = r.Snapshot()
			runtime.Gosched()
		}
	}()

	// Workers keep what they hold until all have finished their steps: a
	// worker that got the CPU first must not clean up before the others
	// start, or the load would never build up to the limits.
	var wg, stepped sync.WaitGroup
	allStepped := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		stepped.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			users := make([]string, usersPerWorker)
			for i := range users {
				users[i] = fmt.Sprintf("w%d-u%d", w, i)
				r.Connected(users[i])
			}
			var mine []string
			for step := range steps {
				// Time moves with the work, not with how fast the sweeper
				// spins: 320 s over the whole run, so some runs time out.
				clock.Advance(10 * time.Millisecond)
				user := users[rng.IntN(len(users))]
				switch op := rng.IntN(10); {
				case op < 5 || len(mine) == 0:
					id := fmt.Sprintf("w%d-%d", w, step)
					req := Request{ID: id, Owner: user, Kind: KindREPL}
					if rng.IntN(2) == 0 {
						req.Kind, req.Path = KindScript, fmt.Sprintf("Local/%s/hw%d.py", user, rng.IntN(4))
					}
					old, err := r.Admit(req)
					switch {
					case err == nil:
						admitted.Add(1)
						mine = append(mine, id)
						if err := r.Started(id, 100000+w*steps+step, 1); err != nil && !errors.Is(err, ErrNotFound) {
							fail("Started: %v", err)
						}
						if old != nil {
							replacedN.Add(1)
							if old.Owner != user || old.Path != req.Path {
								fail("replaced %+v for %+v", old, req)
							}
							r.Remove(old.ID)
						}
					case errors.Is(err, ErrLimit):
						for i, cause := range causes {
							if errors.Is(err, cause) {
								byCause[i].Add(1)
							}
						}
					default:
						fail("Admit: %v", err)
					}
				case op < 6:
					i := rng.IntN(len(mine))
					r.Remove(mine[i])
					mine = append(mine[:i], mine[i+1:]...)
				case op < 7:
					r.Sample(mine[rng.IntN(len(mine))], int64(rng.IntN(40))*MiB, float64(step))
				case op < 8:
					states := []State{StateRunning, StateWaitingInput, StateIdle}
					r.SetState(mine[rng.IntN(len(mine))], states[rng.IntN(len(states))])
				case op < 9:
					r.Activity(mine[rng.IntN(len(mine))])
				default:
					r.Disconnected(user)
					r.Connected(user)
					_ = r.ByOwner(user)
				}
			}
			stepped.Done()
			<-allStepped
			for _, id := range mine {
				r.Remove(id)
			}
			for _, u := range users {
				r.Disconnected(u)
			}
		}()
	}
	stepped.Wait()
	close(allStepped)
	wg.Wait()
	close(stop)
	side.Wait()

	failures.Range(func(k, _ any) bool {
		t.Error(k)
		return true
	})
	mustInvariants(t, r)
	if n := len(r.Snapshot()); n != 0 {
		t.Errorf("%d processes left after every worker removed its own", n)
	}
	if n := len(r.owners); n != 0 {
		t.Errorf("%d owners left after every connection closed", n)
	}
	if admitted.Load() == 0 || replacedN.Load() == 0 {
		t.Errorf("the run did not exercise admission: %d admitted, %d replaced", admitted.Load(), replacedN.Load())
	}
	out := make(map[error]int64, len(causes))
	for i, c := range causes {
		out[c] = byCause[i].Load()
	}
	t.Logf("%d admitted, %d replaced, refusals %v", admitted.Load(), replacedN.Load(), out)
	return out
}
