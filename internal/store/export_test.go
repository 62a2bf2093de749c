package store

import (
	"context"
	"database/sql"
)

// Hooks for the external test package (store_test), which cannot reach
// unexported names but must import storetest, which imports store.

// DB exposes the pool so tests can inspect pragmas and raw rows.
func DB(s *Store) *sql.DB { return s.db }

// SchemaVersions lists the recorded migration versions in order.
func SchemaVersions(ctx context.Context, s *Store) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// MigrationCount is how many migrations this build knows.
func MigrationCount() int { return len(migrations()) }
