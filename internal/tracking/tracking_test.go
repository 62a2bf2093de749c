package tracking

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestTrackerWritesTheSessionRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.CreateUser(ctx, store.User{Username: "carol", PasswordHash: "x", Role: store.RoleStudent, Active: true}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		if err := st.CreateSession(ctx, &store.Session{Username: "carol", TokenHash: "h", LoginAt: now, LastActivity: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		reg, err := registry.New(registry.DefaultLimits(), nil)
		if err != nil {
			t.Fatal(err)
		}
		reg.Connected("carol")
		reg.Admit(registry.Request{ID: "p1", Owner: "carol", Path: "Local/carol/a.py", Kind: registry.KindScript})
		reg.Started("p1", 3001, 1)
		reg.Sample("p1", 8<<20, 1.5)
		tr := NewTracker(reg, st, quiet)
		tr.Changed("carol")
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		sess, err := st.SessionByTokenHash(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if got := string(sess.ActiveProcesses); !strings.Contains(got, `"path":"Local/carol/a.py"`) || !strings.Contains(string(sess.ResourceUsage), `"process_count":1`) {
			t.Fatalf("row: %s %s", sess.ActiveProcesses, sess.ResourceUsage)
		}
		reg.Remove("p1")
		tr.Changed("carol")
		tr.Flush(ctx)
		sess, _ = st.SessionByTokenHash(ctx, "h")
		if string(sess.ActiveProcesses) != "[]" {
			t.Fatalf("after the end: %s", sess.ActiveProcesses)
		}
	})
}
