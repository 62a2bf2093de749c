package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

func TestUIState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.CreateUser(ctx, store.User{Username: "alice", PasswordHash: "x", Role: store.RoleStudent, Active: true, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UIState(ctx, "alice"); err != nil || got != nil {
			t.Fatalf("before any save: %s %v", got, err)
		}
		for _, v := range []string{`{"tabs":["Local/alice/a.py"]}`, `{"tabs":[],"tree":["Local/alice/x y"],"note":"é"}`} {
			if err := s.SetUIState(ctx, "alice", json.RawMessage(v), time.Now()); err != nil {
				t.Fatal(err)
			}
			got, err := s.UIState(ctx, "alice")
			var a, b any
			json.Unmarshal(got, &a)
			json.Unmarshal([]byte(v), &b)
			if err != nil || !jsonEqual(a, b) {
				t.Fatalf("saved %s, read %s %v", v, got, err)
			}
		}
		if err := s.SetUIState(ctx, "nobody", json.RawMessage(`{}`), time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a state for no user: %v", err)
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
