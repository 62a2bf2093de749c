package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

func addUser(t *testing.T, s *store.Store, name string) {
	t.Helper()
	if err := s.CreateUser(context.Background(), store.User{Username: name, PasswordHash: "h", Role: store.RoleStudent, Active: true}); err != nil {
		t.Fatal(err)
	}
}

func addSession(t *testing.T, s *store.Store, user, token string, login, expires time.Time) store.Session {
	t.Helper()
	sess := store.Session{Username: user, TokenHash: token, ClientAddr: "10.0.0.1", LoginAt: login, ExpiresAt: expires}
	if err := s.CreateSession(context.Background(), &sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", token, err)
	}
	return sess
}

// sameJSON compares JSON by value: JSONB reorders keys and drops whitespace.
func sameJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: stored JSON %q does not parse: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestSessionCreateAndGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		sess := store.Session{
			Username: "ada", TokenHash: "aa11", ClientAddr: "192.0.2.7:5555",
			LoginAt: odd, LastActivity: odd.Add(time.Minute), ExpiresAt: odd.Add(time.Hour),
		}
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if sess.ID == 0 {
			t.Fatal("CreateSession did not set ID")
		}
		got, err := s.SessionByTokenHash(ctx, "aa11")
		if err != nil {
			t.Fatalf("SessionByTokenHash: %v", err)
		}
		if got.ID != sess.ID || got.Username != "ada" || got.TokenHash != "aa11" || got.ClientAddr != "192.0.2.7:5555" {
			t.Errorf("got %+v", got)
		}
		wantUTCMicro(t, "LoginAt", got.LoginAt, odd)
		wantUTCMicro(t, "LastActivity", got.LastActivity, odd.Add(time.Minute))
		wantUTCMicro(t, "ExpiresAt", got.ExpiresAt, odd.Add(time.Hour))
		if string(got.ActiveProcesses) != "[]" || string(got.ResourceUsage) != "{}" {
			t.Errorf("JSON defaults = %s, %s; want [] and {}", got.ActiveProcesses, got.ResourceUsage)
		}
		// CreateSession normalized sess to exactly what was stored.
		if !reflect.DeepEqual(got, sess) {
			t.Errorf("stored %+v\n  sess %+v", got, sess)
		}

		if _, err := s.SessionByTokenHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown token: err = %v, want ErrNotFound", err)
		}
		dup := store.Session{Username: "ada", TokenHash: "aa11", ExpiresAt: odd}
		if err := s.CreateSession(ctx, &dup); !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate token: err = %v, want ErrExists", err)
		}
		ghost := store.Session{Username: "ghost", TokenHash: "bb22", ExpiresAt: odd}
		if err := s.CreateSession(ctx, &ghost); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session for a missing user: err = %v, want ErrNotFound", err)
		}
		noToken := store.Session{Username: "ada", ExpiresAt: odd}
		if err := s.CreateSession(ctx, &noToken); err == nil {
			t.Error("session without TokenHash accepted")
		}
		noExpiry := store.Session{Username: "ada", TokenHash: "cc33"}
		if err := s.CreateSession(ctx, &noExpiry); err == nil {
			t.Error("session without ExpiresAt accepted")
		}

		// Zero LoginAt means now; zero LastActivity means LoginAt.
		before := time.Now().Add(-time.Second)
		now := store.Session{Username: "ada", TokenHash: "dd44", ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, &now); err != nil {
			t.Fatal(err)
		}
		got, _ = s.SessionByTokenHash(ctx, "dd44")
		if got.LoginAt.Before(before) || !got.LastActivity.Equal(got.LoginAt) {
			t.Errorf("defaults: LoginAt %v, LastActivity %v", got.LoginAt, got.LastActivity)
		}
	})
}

func TestSessionJSON(t *testing.T) {
	procs := json.RawMessage(`[ {"id": "p1", "kind": "run", "memory_mb": 12.5, "path": "Local/ada/é.py"}, {"id":"p2"} ]`)
	usage := json.RawMessage(`{"total_memory_mb": 12.5, "process_count": 2, "nested": {"a": [1, null, true]}}`)
	bad := []struct {
		name         string
		procs, usage json.RawMessage
	}{
		{"truncated array", json.RawMessage(`[1, 2`), nil},
		{"not JSON", json.RawMessage(`hello`), nil},
		{"object for processes", json.RawMessage(`{"a":1}`), nil},
		{"array for usage", nil, json.RawMessage(`[]`)},
		{"string for usage", nil, json.RawMessage(`"x"`)},
		{"trailing garbage", nil, json.RawMessage(`{} {}`)},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		sess := store.Session{Username: "ada", TokenHash: "t1", ExpiresAt: time.Now().Add(time.Hour),
			ActiveProcesses: procs, ResourceUsage: usage}
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionByTokenHash(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "ActiveProcesses", got.ActiveProcesses, procs)
		sameJSON(t, "ResourceUsage", got.ResourceUsage, usage)

		for i, b := range bad {
			sess := store.Session{Username: "ada", TokenHash: fmt.Sprintf("bad%d", i), ExpiresAt: time.Now().Add(time.Hour),
				ActiveProcesses: b.procs, ResourceUsage: b.usage}
			if err := s.CreateSession(ctx, &sess); !errors.Is(err, store.ErrInvalidJSON) {
				t.Errorf("CreateSession with %s: err = %v, want ErrInvalidJSON", b.name, err)
			}
			if err := s.UpdateSessionUsage(ctx, "ada", b.procs, b.usage); !errors.Is(err, store.ErrInvalidJSON) {
				t.Errorf("UpdateSessionUsage with %s: err = %v, want ErrInvalidJSON", b.name, err)
			}
		}
		// Nothing bad got in.
		got, _ = s.SessionByTokenHash(ctx, "t1")
		sameJSON(t, "ActiveProcesses after rejects", got.ActiveProcesses, procs)
	})
}

func TestUpdateSessionUsage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		addUser(t, s, "bob")
		now := time.Now()
		addSession(t, s, "ada", "a1", now, now.Add(time.Hour))
		addSession(t, s, "ada", "a2", now, now.Add(time.Hour))
		addSession(t, s, "ada", "a-old", now.Add(-2*time.Hour), now.Add(-time.Hour)) // expired, not yet swept
		addSession(t, s, "bob", "b1", now, now.Add(time.Hour))

		procs := json.RawMessage(`[{"id":"p1"}]`)
		usage := json.RawMessage(`{"process_count":1}`)
		if err := s.UpdateSessionUsage(ctx, "ada", procs, usage); err != nil {
			t.Fatal(err)
		}
		for token, want := range map[string][2]string{
			"a1": {`[{"id":"p1"}]`, `{"process_count":1}`}, "a2": {`[{"id":"p1"}]`, `{"process_count":1}`},
			"a-old": {`[]`, `{}`}, "b1": {`[]`, `{}`},
		} {
			got, err := s.SessionByTokenHash(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, token+" processes", got.ActiveProcesses, json.RawMessage(want[0]))
			sameJSON(t, token+" usage", got.ResourceUsage, json.RawMessage(want[1]))
		}
		// Empty means the defaults; a user without sessions is not an error.
		if err := s.UpdateSessionUsage(ctx, "ada", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SessionByTokenHash(ctx, "a1"); string(got.ActiveProcesses) != "[]" || string(got.ResourceUsage) != "{}" {
			t.Errorf("after reset: %s %s", got.ActiveProcesses, got.ResourceUsage)
		}
		if err := s.UpdateSessionUsage(ctx, "nobody", procs, usage); err != nil {
			t.Errorf("user without sessions: %v", err)
		}
	})
}

func TestTouchSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		base := odd
		for _, tok := range []string{"t1", "t2", "t3"} {
			addSession(t, s, "ada", tok, base, base.Add(time.Hour))
		}
		if err := s.TouchSessions(ctx, nil); err != nil {
			t.Fatalf("empty batch: %v", err)
		}
		later := base.Add(10 * time.Minute)
		err := s.TouchSessions(ctx, []store.SessionTouch{
			{TokenHash: "t3", LastActivity: later, ExpiresAt: later.Add(time.Hour)},
			{TokenHash: "t1", LastActivity: later.Add(time.Microsecond), ExpiresAt: later.Add(2 * time.Hour)},
			{TokenHash: "gone", LastActivity: later, ExpiresAt: later}, // logged out meanwhile: skipped
		})
		if err != nil {
			t.Fatalf("TouchSessions: %v", err)
		}
		check := func(tok string, act, exp time.Time) {
			t.Helper()
			got, err := s.SessionByTokenHash(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			wantUTCMicro(t, tok+" LastActivity", got.LastActivity, act)
			wantUTCMicro(t, tok+" ExpiresAt", got.ExpiresAt, exp)
		}
		check("t1", later.Add(time.Microsecond), later.Add(2*time.Hour))
		check("t2", base, base.Add(time.Hour))
		check("t3", later, later.Add(time.Hour))

		// A stale touch (another instance's older batch) must not move t1 back.
		if err := s.TouchSessions(ctx, []store.SessionTouch{{TokenHash: "t1", LastActivity: later, ExpiresAt: later}}); err != nil {
			t.Fatal(err)
		}
		check("t1", later.Add(time.Microsecond), later.Add(2*time.Hour))
	})
}

func TestDeleteSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		addUser(t, s, "bob")
		now := time.Now()
		for _, tok := range []string{"a1", "a2", "a3"} {
			addSession(t, s, "ada", tok, now, now.Add(time.Hour))
		}
		addSession(t, s, "bob", "b1", now, now.Add(time.Hour))

		if err := s.DeleteSession(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "a1"); err != nil {
			t.Errorf("deleting a gone session: %v", err)
		}
		if _, err := s.SessionByTokenHash(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after DeleteSession: %v", err)
		}
		// Single-session policy: keep a3, end the rest of ada's.
		n, err := s.DeleteUserSessions(ctx, "ada", "a3")
		if err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions(except a3) = %d, %v; want 1", n, err)
		}
		if _, err := s.SessionByTokenHash(ctx, "a3"); err != nil {
			t.Errorf("kept session gone: %v", err)
		}
		n, err = s.DeleteUserSessions(ctx, "ada", "")
		if err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions(all) = %d, %v; want 1", n, err)
		}
		if n, err := s.DeleteUserSessions(ctx, "nobody", ""); err != nil || n != 0 {
			t.Errorf("DeleteUserSessions(nobody) = %d, %v", n, err)
		}
		if _, err := s.SessionByTokenHash(ctx, "b1"); err != nil {
			t.Errorf("bob's session touched: %v", err)
		}
	})
}

func TestDeleteExpiredSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		now := odd
		addSession(t, s, "ada", "past", now.Add(-2*time.Hour), now.Add(-time.Hour))
		addSession(t, s, "ada", "exactly-now", now.Add(-time.Hour), now)
		addSession(t, s, "ada", "one-micro-later", now.Add(-time.Hour), now.Add(time.Microsecond))
		addSession(t, s, "ada", "future", now, now.Add(time.Hour))

		n, err := s.DeleteExpiredSessions(ctx, now)
		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
		}
		left, err := s.ListSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var toks []string
		for _, l := range left {
			toks = append(toks, l.TokenHash)
		}
		if !reflect.DeepEqual(toks, []string{"one-micro-later", "future"}) {
			t.Errorf("left = %v", toks)
		}
		if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v", n, err)
		}
	})
}

func TestListSessionsOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		if l, err := s.ListSessions(ctx); err != nil || len(l) != 0 {
			t.Fatalf("empty ListSessions = %v, %v", l, err)
		}
		addUser(t, s, "bob")
		addUser(t, s, "ada")
		now := odd
		addSession(t, s, "bob", "b-early", now, now.Add(time.Hour))
		addSession(t, s, "ada", "a-late", now.Add(time.Minute), now.Add(time.Hour))
		addSession(t, s, "ada", "a-early", now, now.Add(time.Hour))
		got, err := s.ListSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var toks []string
		for _, g := range got {
			toks = append(toks, g.TokenHash)
			if g.LoginAt.Location() != time.UTC {
				t.Errorf("%s LoginAt not UTC", g.TokenHash)
			}
		}
		if !reflect.DeepEqual(toks, []string{"a-early", "a-late", "b-early"}) {
			t.Errorf("ListSessions order = %v", toks)
		}
	})
}

func TestDeleteUserCascadesToSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		addUser(t, s, "ada")
		addUser(t, s, "bob")
		now := time.Now()
		addSession(t, s, "ada", "a1", now, now.Add(time.Hour))
		addSession(t, s, "ada", "a2", now, now.Add(time.Hour))
		addSession(t, s, "bob", "b1", now, now.Add(time.Hour))
		if err := s.DeleteUser(ctx, "ada"); err != nil {
			t.Fatal(err)
		}
		left, err := s.ListSessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 || left[0].TokenHash != "b1" {
			t.Fatalf("sessions after deleting ada: %+v", left)
		}
	})
}
