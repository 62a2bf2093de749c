package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

var errFull = errors.New("full")

// atMost refuses a process once total processes reach n.
func atMost(n int) func(store.Tally) error {
	return func(t store.Tally) error {
		if t.Total >= n {
			return errFull
		}
		return nil
	}
}

func beat(t *testing.T, s *store.Store, id string) {
	t.Helper()
	if err := s.Heartbeat(context.Background(), store.Instance{ID: id, Address: "127.0.0.1:1", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestInstancesAndTheirLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		beat(t, s, "a")
		beat(t, s, "b")
		if in, err := s.Instances(ctx, time.Minute); err != nil || len(in) != 2 || in[0].ID != "a" || in[1].Address != "127.0.0.1:1" {
			t.Fatalf("Instances = %+v, %v", in, err)
		}
		time.Sleep(20 * time.Millisecond)
		beat(t, s, "b")
		if in, _ := s.Instances(ctx, 10*time.Millisecond); len(in) != 1 || in[0].ID != "b" {
			t.Fatalf("with a 10 ms lease, want only b alive: %+v", in)
		}
		if err := s.ForgetInstance(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if in, _ := s.Instances(ctx, time.Minute); len(in) != 1 || in[0].ID != "a" {
			t.Fatalf("after ForgetInstance(b): %+v", in)
		}
	})
}

// Admission counts every live instance's processes, replaces a script run
// again, and forgets a dead instance's processes.
func TestAdmitProcessAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		beat(t, s, "a")
		beat(t, s, "b")
		admit := func(id, inst, owner, path string) (string, error) {
			return s.AdmitProcess(ctx, store.LiveProcess{ID: id, Instance: inst, Owner: owner, Path: path, Kind: "script", Charged: 1 << 20}, time.Minute, atMost(3))
		}
		for _, p := range [][3]string{{"p1", "a", "alice"}, {"p2", "b", "bob"}, {"p3", "b", "bob"}} {
			if _, err := admit(p[0], p[1], p[2], "Local/"+p[2]+"/"+p[0]+".py"); err != nil {
				t.Fatalf("admit %v: %v", p, err)
			}
		}
		if _, err := admit("p4", "a", "carol", "Local/carol/x.py"); !errors.Is(err, errFull) {
			t.Fatalf("a fourth process past a limit of 3 across two instances: %v", err)
		}
		// alice runs p1's file again: it replaces p1, so it fits.
		if r, err := admit("p5", "a", "alice", "Local/alice/p1.py"); err != nil || r != "p1" {
			t.Fatalf("running a file again: replaced %q, %v", r, err)
		}
		var tally store.Tally
		s.AdmitProcess(ctx, store.LiveProcess{ID: "probe", Instance: "a", Owner: "bob", Kind: "repl"}, time.Minute, func(t store.Tally) error { tally = t; return errFull })
		if tally.Total != 3 || tally.Users != 2 || tally.Mine != 2 || tally.Charged != 3<<20 {
			t.Errorf("tally for bob = %+v", tally)
		}
		ps, err := s.LiveProcesses(ctx, time.Minute)
		if err != nil || len(ps) != 4 {
			t.Fatalf("LiveProcesses = %+v, %v", ps, err)
		}
		// b's lease runs out: its processes stop counting at the next admission.
		time.Sleep(20 * time.Millisecond)
		beat(t, s, "a")
		if _, err := s.AdmitProcess(ctx, store.LiveProcess{ID: "p6", Instance: "a", Owner: "dave", Kind: "repl"}, 10*time.Millisecond, atMost(3)); err != nil {
			t.Fatalf("admission after b died: %v", err)
		}
		if ps, _ := s.LiveProcesses(ctx, time.Minute); len(ps) != 3 { // p1 (replaced), p5, p6
			t.Fatalf("after b died: %+v", ps)
		}
		// a holds only p5 now: Sync drops the rest and updates the charge.
		if err := s.SyncProcesses(ctx, "a", []store.LiveProcess{{ID: "p5", Charged: 7 << 20, Counted: true}}); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.LiveProcesses(ctx, time.Minute); len(ps) != 1 || ps[0].ID != "p5" || ps[0].Charged != 7<<20 {
			t.Fatalf("after Sync: %+v", ps)
		}
		if err := s.RemoveProcess(ctx, "p5"); err != nil {
			t.Fatal(err)
		}
	})
}

// Many instances admitting at once never take more than the limit.
func TestAdmitProcessIsOneAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			beat(t, s, id)
		}
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst := []string{"a", "b", "c"}[i%3]
				p := store.LiveProcess{ID: "p" + string(rune('A'+i)), Instance: inst, Owner: "u" + string(rune('A'+i)), Kind: "repl"}
				for {
					_, err := s.AdmitProcess(ctx, p, time.Minute, atMost(5))
					if err == nil {
						admitted.Add(1)
					}
					if err == nil || errors.Is(err, errFull) {
						return
					}
					time.Sleep(time.Millisecond) // SQLite: the writer lock was busy
				}
			}()
		}
		wg.Wait()
		if n := admitted.Load(); n != 5 {
			t.Fatalf("%d admitted at once against a limit of 5", n)
		}
	})
}

func TestHomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		beat(t, s, "a")
		beat(t, s, "b")
		if h, err := s.Home(ctx, "alice", "a", time.Minute); err != nil || h != "a" {
			t.Fatalf("first claim: %q %v", h, err)
		}
		if h, _ := s.Home(ctx, "alice", "b", time.Minute); h != "a" {
			t.Fatalf("b asked for alice's home: %q, want a (it has her)", h)
		}
		// a drains with none of alice's processes: b takes her.
		s.Heartbeat(ctx, store.Instance{ID: "a", Address: "x", StartedAt: time.Now(), Draining: true})
		if h, _ := s.Home(ctx, "alice", "b", time.Minute); h != "b" {
			t.Fatalf("home on a draining instance without her programs: %q, want b", h)
		}
		// a drains but holds a process of bob's: bob stays there.
		s.Home(ctx, "bob", "a", time.Minute)
		s.AdmitProcess(ctx, store.LiveProcess{ID: "b1", Instance: "a", Owner: "bob", Kind: "repl"}, time.Minute, atMost(9))
		if h, _ := s.Home(ctx, "bob", "b", time.Minute); h != "a" {
			t.Fatalf("bob's home with his program on the draining a: %q, want a", h)
		}
		if err := s.LeaveHomes(ctx, "b", []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.Home(ctx, "alice", "a", time.Minute); h != "a" {
			t.Fatalf("after b left alice's home: %q", h)
		}
	})
}

func TestLoginFailuresAndSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := range 3 {
			s.RecordLoginFailure(ctx, "user:eve", now.Add(time.Duration(i)*time.Second))
		}
		if n, oldest, err := s.LoginFailures(ctx, "user:eve", now.Add(-time.Minute)); err != nil || n != 3 || !oldest.Equal(now.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("LoginFailures = %d %v %v", n, oldest, err)
		}
		if n, _, _ := s.LoginFailures(ctx, "user:eve", now.Add(500*time.Millisecond)); n != 2 {
			t.Fatalf("failures in the window: %d, want 2", n)
		}
		s.ClearLoginFailures(ctx, "user:eve", now.Add(-time.Hour))
		if n, _, _ := s.LoginFailures(ctx, "user:eve", now.Add(-time.Minute)); n != 0 {
			t.Fatalf("after clearing: %d", n)
		}
		a, err := s.ClusterSecret(ctx)
		b, _ := s.ClusterSecret(ctx)
		if err != nil || len(a) != 64 || a != b {
			t.Fatalf("ClusterSecret: %q %q %v", a, b, err)
		}
	})
}

// WithLock excludes other holders of the same key (PostgreSQL: across
// instances; SQLite: one instance, whose caller locks itself).
func TestWithLock(t *testing.T) {
	s := storetest.Postgres(t)
	ctx := context.Background()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.WithLock(ctx, "Local/alice/a.py", func() error {
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders of one lock at once", most.Load())
	}
}
