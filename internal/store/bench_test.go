package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// The hot paths of a classroom: every request looks its session up, and the
// coalesced activity flush touches every logged-in student (38) at once.
func BenchmarkHotPaths(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			now := time.Now()
			var touches []store.SessionTouch
			for i := range 38 {
				user := fmt.Sprintf("s%02d", i)
				if err := s.CreateUser(ctx, store.User{Username: user, PasswordHash: "h", Role: store.RoleStudent, Active: true}); err != nil {
					b.Fatal(err)
				}
				sess := store.Session{Username: user, TokenHash: "tok-" + user, LoginAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := s.CreateSession(ctx, &sess); err != nil {
					b.Fatal(err)
				}
				touches = append(touches, store.SessionTouch{TokenHash: sess.TokenHash})
			}
			b.Run("SessionByTokenHash", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := s.SessionByTokenHash(ctx, fmt.Sprintf("tok-s%02d", i%38)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("TouchSessions38", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					at := now.Add(time.Duration(i+1) * time.Millisecond)
					for j := range touches {
						touches[j].LastActivity, touches[j].ExpiresAt = at, at.Add(time.Hour)
					}
					if err := s.TouchSessions(ctx, touches); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
