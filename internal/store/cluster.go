package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// What several instances sharing one database keep in it (internal/cluster
// decides; this is the SQL). Times of liveness are the database's own clock
// on PostgreSQL (now()), so servers whose clocks disagree still agree on
// who is alive; on SQLite, one instance, Go's clock.

// Instance is one server sharing the database.
type Instance struct {
	ID          string
	Address     string // where the other instances reach it (host:port)
	StartedAt   time.Time
	HeartbeatAt time.Time
	Draining    bool
}

// LiveProcess is one running process as the class sees it.
type LiveProcess struct {
	ID       string
	Instance string
	Owner    string
	Path     string
	Kind     string
	Charged  int64 // memory counted for admission
	Counted  bool  // false once a new run replaced it
}

// leaseArg is the moment before which a heartbeat is too old.
func (s *Store) aliveSince(lease time.Duration) (string, any) {
	if s.d == dialectPostgres {
		return "now() - make_interval(secs => $1)", lease.Seconds()
	}
	return "$1", s.d.timeArg(time.Now().Add(-lease))
}

// Heartbeat records that inst is alive (inserting it the first time) and
// whether it drains.
func (s *Store) Heartbeat(ctx context.Context, inst Instance) error {
	q := `INSERT INTO instances (id, address, started_at, heartbeat_at, draining) VALUES ($1, $2, $3, $5, $4)
		ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at, draining = excluded.draining`
	args := []any{inst.ID, inst.Address, s.d.timeArg(inst.StartedAt), inst.Draining, s.d.timeArg(time.Now())}
	if s.d == dialectPostgres {
		q = strings.ReplaceAll(q, "$5", "now()")
		args = args[:4]
	}
	_, err := s.db.ExecContext(ctx, q, args...)
	return err
}

// Instances lists the instances whose heartbeat is younger than lease.
func (s *Store) Instances(ctx context.Context, lease time.Duration) ([]Instance, error) {
	since, arg := s.aliveSince(lease)
	rows, err := s.db.QueryContext(ctx, `SELECT id, address, started_at, heartbeat_at, draining FROM instances
		WHERE heartbeat_at > `+since+` ORDER BY id`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		var in Instance
		if err := rows.Scan(&in.ID, &in.Address, timeCol{&in.StartedAt}, timeCol{&in.HeartbeatAt}, &in.Draining); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// ForgetInstance removes an instance with its processes and homes: at a
// clean shutdown, or for one whose lease ran out.
func (s *Store) ForgetInstance(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM live_processes WHERE instance = $1`,
			`DELETE FROM homes WHERE instance = $1`,
			`DELETE FROM instances WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// reapDead deletes the processes and homes of instances whose lease ran
// out (or that never registered). The caller holds the admission lock.
func (s *Store) reapDead(ctx context.Context, tx *sql.Tx, lease time.Duration) error {
	since, arg := s.aliveSince(lease)
	alive := `SELECT id FROM instances WHERE heartbeat_at > ` + since
	for _, q := range []string{
		`DELETE FROM live_processes WHERE instance NOT IN (` + alive + `)`,
		`DELETE FROM homes WHERE instance NOT IN (` + alive + `)`,
	} {
		if _, err := tx.ExecContext(ctx, q, arg); err != nil {
			return err
		}
	}
	return nil
}

// Tally is what admission counts across every live instance, with the
// process a new run replaces left out (as registry.Counts).
type Tally struct {
	Mine    int
	Users   int
	Total   int
	Charged int64
}

// AdmitProcess admits p for the whole class in one transaction that all
// instances take in turn (a PostgreSQL advisory lock; SQLite has one
// writer): processes of instances whose lease ran out are dropped, the
// owner's counted process of the same path (a script run again) stops
// counting, the rest is tallied, and check decides; p is inserted only if
// check says yes. It returns the id of the process replaced, if any.
func (s *Store) AdmitProcess(ctx context.Context, p LiveProcess, lease time.Duration, check func(Tally) error) (replaced string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('pythonide.admit:' || current_schema()))`); err != nil {
				return err
			}
		}
		if err := s.reapDead(ctx, tx, lease); err != nil {
			return err
		}
		if p.Kind == "script" && p.Path != "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM live_processes WHERE owner = $1 AND path = $2 AND counted`,
				p.Owner, p.Path).Scan(&replaced)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var t Tally
		if err := tx.QueryRowContext(ctx, `SELECT
				COUNT(CASE WHEN owner = $1 THEN 1 END),
				COUNT(DISTINCT owner),
				COUNT(*),
				COALESCE(SUM(charged), 0)
			FROM live_processes WHERE counted AND id <> $2`, p.Owner, replaced).Scan(&t.Mine, &t.Users, &t.Total, &t.Charged); err != nil {
			return err
		}
		if err := check(t); err != nil {
			return err
		}
		if replaced != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE live_processes SET counted = FALSE, charged = 0 WHERE id = $1`, replaced); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO live_processes (id, instance, owner, path, kind, charged, counted, admitted_at)
			VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)`, p.ID, p.Instance, p.Owner, p.Path, p.Kind, p.Charged, s.d.timeArg(time.Now()))
		if isUniqueViolation(err) {
			return fmt.Errorf("store: process %s: %w", p.ID, ErrExists)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return replaced, nil
}

// RemoveProcess forgets one process (it ended).
func (s *Store) RemoveProcess(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM live_processes WHERE id = $1`, id)
	return err
}

// SyncProcesses makes instance's rows what it holds: charges updated,
// processes it no longer holds deleted. Processes it holds that have no row
// (admitted while the database was unreachable) are left out: they were
// admitted by this instance alone and end on their own.
func (s *Store) SyncProcesses(ctx context.Context, instance string, held []LiveProcess) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		keep := map[string]LiveProcess{}
		for _, p := range held {
			keep[p.ID] = p
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM live_processes WHERE instance = $1`, instance)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			p, ok := keep[id]
			if !ok {
				if _, err := tx.ExecContext(ctx, `DELETE FROM live_processes WHERE id = $1`, id); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE live_processes SET charged = $2, counted = $3 WHERE id = $1`, id, p.Charged, p.Counted); err != nil {
				return err
			}
		}
		return nil
	})
}

// LiveProcesses lists the processes of the instances alive within lease.
func (s *Store) LiveProcesses(ctx context.Context, lease time.Duration) ([]LiveProcess, error) {
	since, arg := s.aliveSince(lease)
	rows, err := s.db.QueryContext(ctx, `SELECT p.id, p.instance, p.owner, p.path, p.kind, p.charged, p.counted
		FROM live_processes p JOIN instances i ON i.id = p.instance
		WHERE i.heartbeat_at > `+since+` ORDER BY p.owner, p.admitted_at, p.id`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LiveProcess
	for rows.Next() {
		var p LiveProcess
		if err := rows.Scan(&p.ID, &p.Instance, &p.Owner, &p.Path, &p.Kind, &p.Charged, &p.Counted); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Home is the instance that hosts owner's programs, claiming it for
// instance when no live instance does (or the one that does drains and
// keeps none of owner's processes): a student's programs all live on one
// instance, so every tab of theirs talks to it. It returns the instance
// that hosts them now.
func (s *Store) Home(ctx context.Context, owner, instance string, lease time.Duration) (string, error) {
	var home string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('pythonide.home:' || current_schema()), hashtext($1))`, owner); err != nil {
				return err
			}
		}
		since, arg := s.aliveSince(lease)
		err := tx.QueryRowContext(ctx, `SELECT h.instance FROM homes h JOIN instances i ON i.id = h.instance
			WHERE h.owner = $2 AND i.heartbeat_at > `+since+`
			AND (NOT i.draining OR EXISTS (SELECT 1 FROM live_processes p WHERE p.owner = h.owner AND p.instance = h.instance))`,
			arg, owner).Scan(&home)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		home = instance
		_, err = tx.ExecContext(ctx, `INSERT INTO homes (owner, instance, since) VALUES ($1, $2, $3)
			ON CONFLICT (owner) DO UPDATE SET instance = excluded.instance, since = excluded.since`,
			owner, instance, s.d.timeArg(time.Now()))
		return err
	})
	return home, err
}

// LeaveHomes gives up instance's claim on the homes of owners (who have
// neither a connection nor a process on it any more).
func (s *Store) LeaveHomes(ctx context.Context, instance string, owners []string) error {
	for _, o := range owners {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM homes WHERE owner = $1 AND instance = $2`, o, instance); err != nil {
			return err
		}
	}
	return nil
}

// RecordLoginFailure notes a failed login under key (a username or an
// address) at now.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, key, s.d.timeArg(now))
	return err
}

// LoginFailures counts key's failures since since, and says when the
// oldest of them was.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (n int, oldest time.Time, err error) {
	row := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM login_failures WHERE key = $1 AND at > $2`, key, s.d.timeArg(since))
	if err := row.Scan(&n, timeCol{&oldest}); err != nil {
		return 0, time.Time{}, err
	}
	return n, oldest, nil
}

// ClearLoginFailures forgets key's failures (a successful login), and
// every failure older than before (of any key).
func (s *Store) ClearLoginFailures(ctx context.Context, key string, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1 OR at < $2`, key, s.d.timeArg(before))
	return err
}

// ClusterSecret is the secret the instances vouch for each other with, made
// by the first instance that asks.
func (s *Store) ClusterSecret(ctx context.Context) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`,
		hex.EncodeToString(b[:])); err != nil {
		return "", err
	}
	var secret string
	err := s.db.QueryRowContext(ctx, `SELECT secret FROM cluster_secret WHERE id = 1`).Scan(&secret)
	return secret, err
}

// WithLock runs fn holding a lock named key that every instance sharing a
// PostgreSQL database takes in turn (a session advisory lock on a
// connection of its own). On SQLite, one instance, fn runs at once: the
// caller's own lock is enough there.
func (s *Store) WithLock(ctx context.Context, key string, fn func() error) error {
	if s.d != dialectPostgres {
		return fn()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('pythonide.lock:' || current_schema()), hashtext($1))`, key); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('pythonide.lock:' || current_schema()), hashtext($1))`, key)
	return fn()
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
