// Package storetest gives other packages' tests a real, migrated, isolated
// store on each backend: a fresh SQLite file, or a fresh PostgreSQL schema.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"github.com/pythonide/pythonide/internal/store"
)

// DefaultPostgresURL is used when PYTHONIDE_TEST_POSTGRES is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SQLite returns a store on a fresh file in t.TempDir(), closed at cleanup.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "pythonide.db"))
}

// Postgres returns a store on a fresh schema of its own, dropped at cleanup.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, PostgresURL(t))
}

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// PostgresURL creates an empty schema t_<random> and returns a URL whose
// connections use it as search_path, for tests that need to Open the same
// database more than once. The schema is dropped (CASCADE) at cleanup; close
// every store opened on it first (t.Cleanup runs last-registered first, so
// closing via a cleanup registered after this call is enough). Unreachable
// PostgreSQL skips the test, or fails it when CI is set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PYTHONIDE_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgresURL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: PYTHONIDE_TEST_POSTGRES is not a URL: %v", err)
	}
	where := u.Host + u.Path // never the password

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("storetest: PostgreSQL not reachable at %s: %v", where, err)
		}
		t.Skipf("PostgreSQL not reachable at %s (set PYTHONIDE_TEST_POSTGRES): %v", where, err)
	}

	var b [8]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	return s
}
