package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// odd is a time with nanoseconds and a non-UTC zone, to prove the store
// returns UTC truncated to the microsecond.
var odd = time.Date(2025, 9, 1, 8, 30, 15, 123456789, time.FixedZone("UTC-5", -5*3600))

func wantUTCMicro(t *testing.T, what string, got, in time.Time) {
	t.Helper()
	want := in.UTC().Truncate(time.Microsecond)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want)
	}
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ada := store.User{Username: "ada", PasswordHash: "hash-a", FullName: "Ada L", Role: store.RoleStudent, Active: true, CreatedAt: odd}
		if err := s.CreateUser(ctx, ada); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if err := s.CreateUser(ctx, ada); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate CreateUser: err = %v, want ErrExists", err)
		}
		got, err := s.GetUser(ctx, "ada")
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if got.Username != "ada" || got.PasswordHash != "hash-a" || got.FullName != "Ada L" ||
			got.Role != store.RoleStudent || !got.Active {
			t.Errorf("GetUser = %+v", got)
		}
		wantUTCMicro(t, "CreatedAt", got.CreatedAt, odd)
		if !got.LastLoginAt.IsZero() {
			t.Errorf("LastLoginAt = %v, want zero (never)", got.LastLoginAt)
		}
		if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(nobody): err = %v, want ErrNotFound", err)
		}
		// Usernames compare exactly: "Ada" is another user.
		if _, err := s.GetUser(ctx, "Ada"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(Ada): err = %v, want ErrNotFound", err)
		}

		// A zero CreatedAt means now.
		before := time.Now().Add(-time.Second)
		if err := s.CreateUser(ctx, store.User{Username: "grace", PasswordHash: "h", Role: store.RoleProfessor}); err != nil {
			t.Fatal(err)
		}
		g, err := s.GetUser(ctx, "grace")
		if err != nil {
			t.Fatal(err)
		}
		if g.CreatedAt.Before(before) || g.Active || g.Role != store.RoleProfessor {
			t.Errorf("grace = %+v, want CreatedAt≈now, inactive professor", g)
		}

		if err := s.CreateUser(ctx, store.User{Username: "x", PasswordHash: "h", Role: "admin"}); err == nil {
			t.Error("CreateUser with role admin succeeded")
		}
	})
}

func TestListUsersOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		if users, err := s.ListUsers(ctx); err != nil || len(users) != 0 {
			t.Fatalf("empty ListUsers = %v, %v", users, err)
		}
		// Bytewise order on both backends: upper case, '.', '_', then lower case.
		for _, n := range []string{"bob", "alice", "Zed", "a_b", "a.b", "alice2"} {
			if err := s.CreateUser(ctx, store.User{Username: n, PasswordHash: "h", Role: store.RoleStudent}); err != nil {
				t.Fatal(err)
			}
		}
		users, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range users {
			names = append(names, u.Username)
		}
		want := []string{"Zed", "a.b", "a_b", "alice", "alice2", "bob"}
		if len(names) != len(want) {
			t.Fatalf("ListUsers = %v, want %v", names, want)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Fatalf("ListUsers = %v, want %v", names, want)
			}
		}
	})
}

func TestUserUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		if err := s.CreateUser(ctx, store.User{Username: "ada", PasswordHash: "old", Role: store.RoleStudent, Active: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPassword(ctx, "ada", "new"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActive(ctx, "ada", false); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateUser(ctx, "ada", "Ada Lovelace", store.RoleProfessor); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLastLogin(ctx, "ada", odd); err != nil {
			t.Fatal(err)
		}
		u, err := s.GetUser(ctx, "ada")
		if err != nil {
			t.Fatal(err)
		}
		if u.PasswordHash != "new" || u.Active || u.FullName != "Ada Lovelace" || u.Role != store.RoleProfessor {
			t.Errorf("after updates: %+v", u)
		}
		wantUTCMicro(t, "LastLoginAt", u.LastLoginAt, odd)

		// Setting the same values again still finds the row.
		if err := s.SetActive(ctx, "ada", false); err != nil {
			t.Errorf("idempotent SetActive: %v", err)
		}
		if err := s.SetActive(ctx, "ada", true); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.GetUser(ctx, "ada"); !u.Active {
			t.Error("SetActive(true) did not reactivate")
		}
		if err := s.UpdateUser(ctx, "ada", "x", "root"); err == nil {
			t.Error("UpdateUser with an invalid role succeeded")
		}

		notFound := map[string]error{
			"SetPassword":  s.SetPassword(ctx, "nobody", "h"),
			"SetActive":    s.SetActive(ctx, "nobody", true),
			"UpdateUser":   s.UpdateUser(ctx, "nobody", "N", store.RoleStudent),
			"SetLastLogin": s.SetLastLogin(ctx, "nobody", odd),
			"DeleteUser":   s.DeleteUser(ctx, "nobody"),
		}
		for name, err := range notFound {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s(nobody): err = %v, want ErrNotFound", name, err)
			}
		}

		if err := s.DeleteUser(ctx, "ada"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUser(ctx, "ada"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after DeleteUser: err = %v", err)
		}
	})
}

// Times far from now and across DST and the epoch round-trip exactly.
func TestTimeRoundTrip(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	times := []time.Time{
		odd,
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 3, 10, 2, 30, 0, 1000, ny), // inside the spring-forward gap
		time.Date(2099, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		if err := s.CreateUser(ctx, store.User{Username: "u", PasswordHash: "h", Role: store.RoleStudent}); err != nil {
			t.Fatal(err)
		}
		for _, tm := range times {
			if err := s.SetLastLogin(ctx, "u", tm); err != nil {
				t.Fatal(err)
			}
			u, err := s.GetUser(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			wantUTCMicro(t, "LastLoginAt", u.LastLoginAt, tm)
		}
		// The zero time clears it back to "never".
		if err := s.SetLastLogin(ctx, "u", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.GetUser(ctx, "u"); !u.LastLoginAt.IsZero() {
			t.Errorf("LastLoginAt after zero = %v", u.LastLoginAt)
		}
	})
}

func TestProfessorHasLoggedIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		has := func(want bool, when string) {
			t.Helper()
			got, err := s.ProfessorHasLoggedIn(ctx)
			if err != nil || got != want {
				t.Fatalf("%s: ProfessorHasLoggedIn = %v, %v; want %v", when, got, err, want)
			}
		}
		has(false, "no users")
		for _, u := range []store.User{
			{Username: "admin", PasswordHash: "h", Role: store.RoleProfessor, Active: true, CreatedAt: odd},
			{Username: "ada", PasswordHash: "h", Role: store.RoleStudent, Active: true, CreatedAt: odd},
		} {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		has(false, "a professor who never logged in")
		if err := s.SetLastLogin(ctx, "ada", odd); err != nil {
			t.Fatal(err)
		}
		has(false, "only a student logged in")
		if err := s.SetLastLogin(ctx, "admin", odd); err != nil {
			t.Fatal(err)
		}
		has(true, "the professor logged in")
	})
}
