package store

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// openSQLite prepares the file (private folder and file, local filesystem)
// and opens a pool whose every connection gets the same pragmas.
func openSQLite(path string, opts Options, statfs statfsFunc) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: database path %q: %w", path, err)
	}
	// The database holds password hashes and session tokens: only the server's
	// user may read it.
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: creating the database folder: %w", err)
	}
	// Check the file itself when it exists (it may be a link to elsewhere),
	// else the folder it will be created in.
	target := abs
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		target = filepath.Dir(abs)
	}
	if err := checkLocalFS(target, opts.AllowNetworkFS, statfs); err != nil {
		return nil, err
	}
	// Create it ourselves so it is 0600; SQLite gives the -wal and -shm files
	// the same mode as the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: creating the database file: %w", err)
	}
	f.Close()

	q := url.Values{}
	// busy_timeout is applied first by the driver, so the pragmas after it
	// wait rather than fail when another connection holds the lock.
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is safe from corruption in WAL mode; it only risks the last
	// commits on power loss, which for sessions and logins is acceptable.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Transactions take the write lock at BEGIN: a deferred transaction that
	// reads and then writes can fail with SQLITE_BUSY without waiting for
	// busy_timeout, which is the classic "database is locked" under load.
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}

	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", abs, err)
	}
	// SQLite serializes writers anyway; more connections only add lock
	// contention. WAL readers still proceed in parallel on the others.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return db, nil
}
