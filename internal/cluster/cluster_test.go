package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// join makes one instance of a class on st, with its own registry.
func join(t testing.TB, st *store.Store, id string, lease time.Duration) *Cluster {
	t.Helper()
	reg, err := registry.New(registry.DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Join(context.Background(), st, reg, Options{ID: id, Address: id + ".internal:8080", Lease: lease}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// req is a run of a file of its own (a file run again replaces its run).
func req(id, owner string) registry.Request {
	return registry.Request{ID: id, Owner: owner, Path: "Local/" + owner + "/" + id + ".py", Kind: registry.KindScript}
}

// admit admits r as the runner does: for the class, then in the
// instance's own registry (which the heartbeat writes back).
func admit(c *Cluster, r registry.Request, l registry.Limits) error {
	if err := c.Admit(context.Background(), r, l); err != nil {
		return err
	}
	_, err := c.reg.Admit(r)
	return err
}

// TestAdmitHoldsAcrossInstances: two instances racing for the class's last
// slots take exactly as many as the limit allows, and a slot an ended
// program leaves is free for either.
func TestAdmitHoldsAcrossInstances(t *testing.T) {
	st := storetest.Postgres(t)
	a, b := join(t, st, "a", 15*time.Second), join(t, st, "b", 15*time.Second)
	l := registry.DefaultLimits()
	l.MaxTotal = 5
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := []*Cluster{a, b}[i%2]
			err := admit(c, req(fmt.Sprintf("p%d", i), fmt.Sprintf("u%d", i)), l)
			switch {
			case err == nil:
				admitted.Add(1)
			case !errors.Is(err, registry.ErrTotalLimit):
				t.Errorf("admission %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 5 {
		t.Fatalf("%d programs admitted across two instances, the limit is 5", n)
	}
	err := admit(b, req("late", "late"), l)
	if !errors.Is(err, registry.ErrTotalLimit) || !strings.Contains(err.Error(), "limit of 5") {
		t.Fatalf("the sixth: %v", err)
	}
	ended := a.reg.Snapshot()[0].ID
	a.reg.Remove(ended)
	a.Ended(ended)
	if err := admit(b, req("late", "late"), l); err != nil {
		t.Fatalf("after one ended on a: %v", err)
	}
}

// TestDeadInstanceLeaksNoSlot: an instance that stops heartbeating holds
// its slots no longer than the lease.
func TestDeadInstanceLeaksNoSlot(t *testing.T) {
	st := storetest.Postgres(t)
	const lease = time.Second
	a, b := join(t, st, "a", lease), join(t, st, "b", lease)
	l := registry.DefaultLimits()
	l.MaxTotal = 2
	for i := range 2 {
		if err := admit(a, req(fmt.Sprintf("a%d", i), "alice"), l); err != nil {
			t.Fatal(err)
		}
	}
	if err := admit(b, req("b0", "bob"), l); !errors.Is(err, registry.ErrTotalLimit) {
		t.Fatalf("while a is alive: %v", err)
	}
	// a never beats again (Run was never called: as if it were killed);
	// b goes on beating.
	time.Sleep(lease / 2)
	b.beat(context.Background())
	time.Sleep(lease/2 + 200*time.Millisecond)
	b.beat(context.Background())
	if err := admit(b, req("b0", "bob"), l); err != nil {
		t.Fatalf("a's lease ran out, its slots are still held: %v", err)
	}
	tot, err := b.Totals(context.Background())
	if err != nil || len(tot.Instances) != 1 || tot.Processes != 1 {
		t.Fatalf("the class after a's death: %+v %v", tot, err)
	}
}

// TestAdmitFailsOpen: without the database, a run is admitted on the
// instance's own limits (which its registry then checks).
func TestAdmitFailsOpen(t *testing.T) {
	st := storetest.Postgres(t)
	a := join(t, st, "a", 15*time.Second)
	st.Close()
	if err := a.Admit(context.Background(), req("p", "alice"), registry.DefaultLimits()); err != nil {
		t.Fatalf("with the database closed: %v", err)
	}
}

// TestHomes: a student's first instance becomes their home and the others
// send them there; a draining instance keeps the students whose programs
// run on it and takes no new one.
func TestHomes(t *testing.T) {
	st := storetest.Postgres(t)
	a, b := join(t, st, "a", 15*time.Second), join(t, st, "b", 15*time.Second)
	ctx := context.Background()
	home := func(c *Cluster, owner string) string {
		t.Helper()
		addr, local, err := c.Home(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		if local {
			return c.ID()
		}
		return addr
	}
	if got := home(a, "alice"); got != "a" {
		t.Fatalf("alice's first instance: %s", got)
	}
	if got := home(b, "alice"); got != "a.internal:8080" {
		t.Fatalf("b sends alice to %q", got)
	}
	home(a, "carol")
	if err := admit(a, req("c1", "carol"), registry.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	a.Drain(ctx)
	if got := home(b, "carol"); got != "a.internal:8080" {
		t.Fatalf("carol, whose program runs on the draining a: %q", got)
	}
	if got := home(b, "alice"); got != "b" {
		t.Fatalf("alice, with nothing on the draining a: %q", got)
	}
	if got := home(a, "dave"); got != "b.internal:8080" {
		t.Fatalf("a new student reaching the draining a: %q", got)
	}
}

// TestForwardVouches: a forwarded request keeps the site's Host, says who
// the client is, and carries the secret that the peer checks.
func TestForwardVouches(t *testing.T) {
	st := storetest.Postgres(t)
	a, b := join(t, st, "a", 15*time.Second), join(t, st, "b", 15*time.Second)
	var got *http.Request
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if !b.Vouched(r) {
			http.Error(w, "not vouched", http.StatusForbidden)
		}
	}))
	defer peer.Close()
	in := httptest.NewRequest("GET", "http://ide.school.example/api/admin/processes", nil)
	in.Header.Set(PeerHeader, "forged")
	in.Header.Set("X-Forwarded-For", "10.9.9.9")
	rec := httptest.NewRecorder()
	a.Forward(rec, in, strings.TrimPrefix(peer.URL, "http://"), "203.0.113.9", true)
	if rec.Code != http.StatusOK || got == nil {
		t.Fatalf("forwarded: %d %s", rec.Code, rec.Body)
	}
	if got.Host != "ide.school.example" || got.Header.Get("X-Forwarded-For") != "203.0.113.9" || got.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("the peer saw Host %q, X-Forwarded-For %q, proto %q", got.Host, got.Header.Get("X-Forwarded-For"), got.Header.Get("X-Forwarded-Proto"))
	}
	for _, secret := range []string{"", "forged", a.secret + "x"} {
		r := httptest.NewRequest("GET", "/", nil)
		if secret != "" {
			r.Header.Set(PeerHeader, secret)
		}
		if b.Vouched(r) {
			t.Errorf("vouched with %q", secret)
		}
	}
	// A peer that does not answer: the browser is told plainly.
	rec = httptest.NewRecorder()
	a.Forward(rec, httptest.NewRequest("GET", "http://ide.school.example/ws", nil), "127.0.0.1:1", "203.0.113.9", false)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "does not answer") {
		t.Errorf("forward to a dead peer: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkAdmit is the class-wide admission a run pays on PostgreSQL
// (one transaction under the advisory lock), with a class of 50 programs
// already running on another instance (as many as 3 GiB admits at 50 MiB
// each, with room), and the row's removal at its end.
func BenchmarkAdmit(b *testing.B) {
	st := storetest.Postgres(b)
	a, other := join(b, st, "a", 15*time.Second), join(b, st, "b", 15*time.Second)
	l := registry.DefaultLimits()
	for i := range 50 {
		if err := admit(other, req(fmt.Sprintf("o%d", i), fmt.Sprintf("u%d", i%37)), l); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("p%d", i)
		if err := a.Admit(context.Background(), req(id, "alice"), l); err != nil {
			b.Fatal(err)
		}
		a.Ended(id)
	}
}
