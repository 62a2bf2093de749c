package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/store"
)

func TestEachRunsBothBackendsIsolated(t *testing.T) {
	var seen []string
	Each(t, func(t *testing.T, s *store.Store) {
		seen = append(seen, s.Dialect())
		// Each call gets an empty store, even if the previous one had data.
		users, err := s.ListUsers(context.Background())
		if err != nil || len(users) != 0 {
			t.Fatalf("fresh store has users %v (%v)", users, err)
		}
		if err := s.CreateUser(context.Background(), store.User{Username: "ada", PasswordHash: "h", Role: store.RoleStudent}); err != nil {
			t.Fatal(err)
		}
	})
	if len(seen) == 0 || seen[0] != "sqlite" {
		t.Fatalf("Each ran %v", seen)
	}
}

// Two Postgres stores in one test are separate schemas, and each schema is
// gone once the test that made it has finished.
func TestPostgresSchemaIsolationAndCleanup(t *testing.T) {
	var schemas []string
	t.Run("inner", func(t *testing.T) {
		for range 2 {
			u := PostgresURL(t)
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			schemas = append(schemas, parsed.Query().Get("search_path"))
			s := open(t, u)
			if err := s.CreateUser(context.Background(), store.User{Username: "ada", PasswordHash: "h", Role: store.RoleStudent}); err != nil {
				t.Fatalf("second schema already had ada? %v", err)
			}
		}
	})
	if len(schemas) != 2 {
		t.Skip("PostgreSQL not available")
	}
	if schemas[0] == schemas[1] || !strings.HasPrefix(schemas[0], "t_") {
		t.Fatalf("schemas %v", schemas)
	}
	db, err := sql.Open("pgx", baseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, sc := range schemas {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = $1`, sc).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("schema %s still exists after cleanup", sc)
		}
	}
}

func baseURL() string {
	if u := os.Getenv("PYTHONIDE_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// recorder is a testing.TB that records Skip/Fatal instead of ending the
// goroutine, so the unreachable-server paths can be checked.
type recorder struct {
	testing.TB
	skipped, fatal string
}

var errStopped = errors.New("stopped")

func (r *recorder) Helper()        {}
func (r *recorder) Cleanup(func()) {}
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped = fmt.Sprintf(f, a...)
	panic(errStopped)
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.fatal = fmt.Sprintf(f, a...)
	panic(errStopped)
}

func runRecorded(t *testing.T) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != errStopped {
				panic(p)
			}
		}()
		PostgresURL(r)
	}()
	return r
}

func TestUnreachablePostgres(t *testing.T) {
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	t.Setenv("PYTHONIDE_TEST_POSTGRES", "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable")

	t.Setenv("CI", "")
	r := runRecorded(t)
	if !strings.Contains(r.skipped, "PostgreSQL not reachable at 127.0.0.1:1/test") || r.fatal != "" {
		t.Errorf("without CI: skipped %q, fatal %q; want a skip", r.skipped, r.fatal)
	}
	if strings.Contains(r.skipped, "secret") {
		t.Errorf("skip message leaks the password: %q", r.skipped)
	}

	t.Setenv("CI", "true")
	r = runRecorded(t)
	if !strings.Contains(r.fatal, "PostgreSQL not reachable") || r.skipped != "" {
		t.Errorf("with CI: skipped %q, fatal %q; want a failure", r.skipped, r.fatal)
	}
}
