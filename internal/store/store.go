// Package store is the persistence layer: users and the seed's user_sessions
// table, in plain SQL over database/sql. SQLite (pure Go, modernc.org/sqlite)
// is the embedded default; PostgreSQL (pgx) is chosen by a postgres:// URL.
// One implementation serves both: the SQL is written once with $N
// placeholders, which both drivers accept, and the few real differences (DDL,
// how a time is stored, migration locking) live in dialect.go and
// migrations.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors callers map to API errors (404 / 409).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrLimit    = errors.New("limit reached") // a bound the caller asked the store to keep
)

// Options tunes Open.
type Options struct {
	// AllowNetworkFS lets a SQLite file live on NFS/SMB/FUSE (e.g. AWS EFS).
	// SQLite's locking is unreliable there, so it is refused unless set.
	AllowNetworkFS bool
}

// Store is a migrated database handle, safe for concurrent use.
type Store struct {
	db *sql.DB
	d  dialect
}

// Open connects to dsn and brings the schema up to date. A dsn starting with
// postgres:// or postgresql:// selects PostgreSQL; anything else is a SQLite
// file path.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	if isPostgresDSN(dsn) {
		d = dialectPostgres
		db, err = openPostgres(dsn)
	} else {
		d = dialectSQLite
		db, err = openSQLite(dsn, opts, statfsMagic)
	}
	if err != nil {
		return nil, err
	}
	// Several processes opening a new SQLite file at once (a server and a
	// command, or instances in a test) race to switch it to WAL; the
	// loser is told "locked" without waiting, so it tries again.
	for try := 1; ; try++ {
		err = migrate(ctx, db, d)
		if err == nil || !isSQLiteBusy(err) || try == 50 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(try) * 10 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, d: d}, nil
}

func isPostgresDSN(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Close releases the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers (readiness probe).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return string(s.d) }

// Stats reports connection-pool statistics for metrics.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }

// execOne runs a statement that must touch exactly one existing row; zero
// rows means the row does not exist.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}
