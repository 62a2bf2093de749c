package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eachDSN runs fn once per backend with a DSN that can be opened repeatedly.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "p.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.PostgresURL(t)) })
}

func mustOpen(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(ctxT(t), dsn, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func allVersions() []int {
	var want []int
	for v := 1; v <= store.MigrationCount(); v++ {
		want = append(want, v)
	}
	return want
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		ctx := ctxT(t)
		s1 := mustOpen(t, dsn)
		if err := s1.CreateUser(ctx, store.User{Username: "ada", PasswordHash: "h", Role: store.RoleStudent, Active: true}); err != nil {
			t.Fatal(err)
		}
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := mustOpen(t, dsn)
		if _, err := s2.GetUser(ctx, "ada"); err != nil {
			t.Fatalf("user lost across reopen: %v", err)
		}
		vs, err := store.SchemaVersions(ctx, s2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(vs, allVersions()) {
			t.Fatalf("schema_version = %v, want %v", vs, allVersions())
		}
	})
}

// Several server instances starting together must migrate exactly once and
// all start. Without the advisory lock the racing CREATE TABLEs fail.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		const n = 8
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			stores []*store.Store
			errs   []error
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				s, err := store.Open(context.Background(), dsn, store.Options{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				stores = append(stores, s)
			})
		}
		close(start)
		wg.Wait()
		t.Cleanup(func() {
			for _, s := range stores {
				s.Close()
			}
		})
		for _, err := range errs {
			t.Errorf("concurrent Open: %v", err)
		}
		if len(stores) == 0 {
			t.FailNow()
		}
		vs, err := store.SchemaVersions(ctxT(t), stores[0])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(vs, allVersions()) {
			t.Fatalf("schema_version = %v, want each migration once: %v", vs, allVersions())
		}
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		if _, err := store.DB(s).ExecContext(ctxT(t),
			`INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'from the future', $1)`,
			storeTimeArg(s, time.Now())); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := store.Open(ctxT(t), dsn, store.Options{})
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("Open on a newer schema: err = %v, want a refusal", err)
		}
	})
}

func storeTimeArg(s *store.Store, t time.Time) any {
	if s.Dialect() == "sqlite" {
		return t.UnixMicro()
	}
	return t
}

func TestPingDialectStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Ping(ctxT(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		want := strings.TrimPrefix(t.Name(), "TestPingDialectStats/")
		if s.Dialect() != want {
			t.Errorf("Dialect() = %q, want %q", s.Dialect(), want)
		}
		if st := s.Stats(); st.OpenConnections < 1 || st.MaxOpenConnections < 1 {
			t.Errorf("Stats() = %+v, want an open, bounded pool", st)
		}
	})
}

func TestPostgresURLSchemes(t *testing.T) {
	u := storetest.PostgresURL(t)
	if !strings.HasPrefix(u, "postgres://") {
		t.Skip("PYTHONIDE_TEST_POSTGRES does not use the postgres:// scheme")
	}
	alt := "postgresql://" + strings.TrimPrefix(u, "postgres://")
	if s := mustOpen(t, alt); s.Dialect() != "postgres" {
		t.Fatalf("postgresql:// opened %q", s.Dialect())
	}
}

func TestSQLiteFileSetup(t *testing.T) {
	ctx := ctxT(t)
	dir := filepath.Join(t.TempDir(), "data", "db")
	path := filepath.Join(dir, "pythonide.db")
	s := mustOpen(t, path)
	// A write makes sure the -wal file exists.
	if err := s.CreateUser(ctx, store.User{Username: "u", PasswordHash: "h", Role: store.RoleStudent}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %o, want %o", p, got, want)
		}
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1"} {
		var got string
		if err := store.DB(s).QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestSQLitePathWithQueryCharacters(t *testing.T) {
	// A '?' or '#' in a folder name must be part of the path, not a URI query.
	path := filepath.Join(t.TempDir(), "a?b#c", "p.db")
	mustOpen(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the literal path: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := store.Open(ctxT(t), "", store.Options{}); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}
