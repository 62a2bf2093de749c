package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// A classroom logging in at once: many goroutines writing at the same time
// must all succeed. On SQLite this is what WAL, busy_timeout and immediate
// transactions are for; "database is locked" here is a failure.
func TestConcurrentWriters(t *testing.T) {
	const writers, writes = 20, 20
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		var wg sync.WaitGroup
		errs := make(chan error, writers*writes)
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				user := fmt.Sprintf("u%02d", w)
				if err := s.CreateUser(ctx, store.User{Username: user, PasswordHash: "h", Role: store.RoleStudent, Active: true}); err != nil {
					errs <- err
					return
				}
				now := time.Now()
				for i := range writes {
					var err error
					tok := fmt.Sprintf("%s-%02d", user, i)
					switch i % 4 {
					case 0: // login
						sess := store.Session{Username: user, TokenHash: tok, LoginAt: now, ExpiresAt: now.Add(time.Hour)}
						err = s.CreateSession(ctx, &sess)
					case 1: // batched activity (a transaction)
						err = s.TouchSessions(ctx, []store.SessionTouch{
							{TokenHash: fmt.Sprintf("%s-%02d", user, i-1), LastActivity: now.Add(time.Duration(i) * time.Second), ExpiresAt: now.Add(2 * time.Hour)},
						})
					case 2:
						err = s.SetLastLogin(ctx, user, now)
					case 3:
						err = s.UpdateSessionUsage(ctx, user, []byte(fmt.Sprintf(`[{"i":%d}]`, i)), []byte(`{"n":1}`))
					}
					if err != nil {
						errs <- fmt.Errorf("%s write %d: %w", user, i, err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		users, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := s.ListSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != writers || len(sessions) != writers*writes/4 {
			t.Errorf("got %d users, %d sessions; want %d, %d", len(users), len(sessions), writers, writers*writes/4)
		}
	})
}

// Two instances sharing one database, touching overlapping sessions in
// opposite orders, must not deadlock (PostgreSQL) or lock out (SQLite).
func TestConcurrentOverlappingTouches(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		ctx := ctxT(t)
		a, b := mustOpen(t, dsn), mustOpen(t, dsn)
		addUser(t, a, "ada")
		now := time.Now()
		var touches []store.SessionTouch
		for i := range 50 {
			tok := fmt.Sprintf("t%02d", i)
			addSession(t, a, "ada", tok, now, now.Add(time.Hour))
			touches = append(touches, store.SessionTouch{TokenHash: tok, LastActivity: now.Add(time.Second), ExpiresAt: now.Add(2 * time.Hour)})
		}
		reversed := make([]store.SessionTouch, len(touches))
		for i, tc := range touches {
			reversed[len(touches)-1-i] = tc
		}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 20 {
			wg.Go(func() {
				s, batch := a, touches
				if i%2 == 1 {
					s, batch = b, reversed
				}
				if err := s.TouchSessions(ctx, batch); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
