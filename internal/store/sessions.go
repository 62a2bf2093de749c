package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Session is a row of the seed's user_sessions table: one login.
type Session struct {
	ID                               int64
	Username                         string
	TokenHash                        string // hex SHA-256 of the cookie token; the clear token is never stored
	ClientAddr                       string
	LoginAt, LastActivity, ExpiresAt time.Time       // UTC
	ActiveProcesses                  json.RawMessage // JSON array, default []
	ResourceUsage                    json.RawMessage // JSON object, default {}
}

const sessionColumns = `id, username, token_hash, client_addr, login_time, last_activity, expires_at, active_processes, resource_usage`

func scanSession(r rowScanner) (Session, error) {
	var s Session
	err := r.Scan(&s.ID, &s.Username, &s.TokenHash, &s.ClientAddr,
		timeCol{&s.LoginAt}, timeCol{&s.LastActivity}, timeCol{&s.ExpiresAt},
		jsonCol{&s.ActiveProcesses}, jsonCol{&s.ResourceUsage})
	return s, err
}

// CreateSession inserts sess and sets sess.ID. It also normalizes sess to what
// was stored: times in UTC to the microsecond (a zero LoginAt means now, a
// zero LastActivity means LoginAt) and compact JSON with defaults. ErrExists
// if the token hash is taken, ErrNotFound if the user does not exist,
// ErrInvalidJSON for bad JSON.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	if sess.TokenHash == "" {
		// An empty hash would also escape DeleteUserSessions(user, "").
		return fmt.Errorf("store: create session for %q: TokenHash is required", sess.Username)
	}
	if sess.ExpiresAt.IsZero() {
		return fmt.Errorf("store: create session for %q: ExpiresAt is required", sess.Username)
	}
	procs, err := jsonArg(sess.ActiveProcesses, '[', "[]")
	if err != nil {
		return fmt.Errorf("store: create session for %q: active processes: %w", sess.Username, err)
	}
	usage, err := jsonArg(sess.ResourceUsage, '{', "{}")
	if err != nil {
		return fmt.Errorf("store: create session for %q: resource usage: %w", sess.Username, err)
	}
	if sess.LoginAt.IsZero() {
		sess.LoginAt = time.Now()
	}
	if sess.LastActivity.IsZero() {
		sess.LastActivity = sess.LoginAt
	}
	var id int64
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO user_sessions (username, token_hash, client_addr, login_time, last_activity, expires_at, active_processes, resource_usage)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		sess.Username, sess.TokenHash, sess.ClientAddr,
		s.d.timeArg(sess.LoginAt), s.d.timeArg(sess.LastActivity), s.d.timeArg(sess.ExpiresAt),
		procs, usage).Scan(&id)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("store: create session for %q: token: %w", sess.Username, ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: create session for %q: user %w", sess.Username, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: create session for %q: %w", sess.Username, err)
	}
	sess.ID = id
	sess.LoginAt = utcMicro(sess.LoginAt)
	sess.LastActivity = utcMicro(sess.LastActivity)
	sess.ExpiresAt = utcMicro(sess.ExpiresAt)
	sess.ActiveProcesses = json.RawMessage(procs)
	sess.ResourceUsage = json.RawMessage(usage)
	return nil
}

func utcMicro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// SessionByTokenHash returns the session or ErrNotFound. It does not look at
// ExpiresAt: deciding that a session is over is the caller's policy.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error) {
	sess, err := scanSession(s.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM user_sessions WHERE token_hash = $1`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	return sess, nil
}

// SessionTouch moves a session's activity and expiry forward.
type SessionTouch struct {
	TokenHash               string
	LastActivity, ExpiresAt time.Time
}

// TouchSessions applies coalesced activity updates in one transaction.
// Sessions that no longer exist are skipped, and a touch older than the
// stored last_activity is ignored, so batches from several instances arriving
// out of order never move a session backwards.
func (s *Store) TouchSessions(ctx context.Context, touches []SessionTouch) error {
	if len(touches) == 0 {
		return nil
	}
	// Updating rows in one global order keeps two instances' batches from
	// deadlocking on PostgreSQL.
	sorted := slices.Clone(touches)
	slices.SortFunc(sorted, func(a, b SessionTouch) int { return strings.Compare(a.TokenHash, b.TokenHash) })

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx,
		`UPDATE user_sessions SET last_activity = $1, expires_at = $2
		 WHERE token_hash = $3 AND last_activity <= $1`)
	if err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	defer stmt.Close()
	for _, t := range sorted {
		if _, err := stmt.ExecContext(ctx, s.d.timeArg(t.LastActivity), s.d.timeArg(t.ExpiresAt), t.TokenHash); err != nil {
			return fmt.Errorf("store: touch sessions: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	return nil
}

// DeleteSession ends one session (logout). Deleting a session that is already
// gone is not an error: the outcome the caller wants holds.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of username except the one whose
// token hash is exceptTokenHash ("" ends them all), for the single-session
// policy and for deactivation. It returns how many were ended.
func (s *Store) DeleteUserSessions(ctx context.Context, username, exceptTokenHash string) (int64, error) {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM user_sessions WHERE username = $1 AND token_hash <> $2`, username, exceptTokenHash)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of %q: %w", username, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of %q: %w", username, err)
	}
	return n, nil
}

// DeleteExpiredSessions removes sessions whose expiry is at or before now and
// returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE expires_at <= $1`, s.d.timeArg(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}

// ListSessions returns every session row, expired or not, ordered by username
// then login time.
func (s *Store) ListSessions(ctx context.Context) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM user_sessions ORDER BY username, login_time, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// UpdateSessionUsage records the registry's view of a user (their processes,
// a JSON array, and resource usage, a JSON object) on every unexpired session
// row of that user. A user with no live session is not an error: there is
// nothing to annotate. Unlike the seed's query it leaves last_activity alone,
// because a running process is not the student being active.
func (s *Store) UpdateSessionUsage(ctx context.Context, username string, activeProcesses, resourceUsage json.RawMessage) error {
	procs, err := jsonArg(activeProcesses, '[', "[]")
	if err != nil {
		return fmt.Errorf("store: update session usage of %q: active processes: %w", username, err)
	}
	usage, err := jsonArg(resourceUsage, '{', "{}")
	if err != nil {
		return fmt.Errorf("store: update session usage of %q: resource usage: %w", username, err)
	}
	if _, err := s.db.ExecContext(ctx,
		`UPDATE user_sessions SET active_processes = $1, resource_usage = $2
		 WHERE username = $3 AND expires_at > $4`,
		procs, usage, username, s.d.timeArg(time.Now())); err != nil {
		return fmt.Errorf("store: update session usage of %q: %w", username, err)
	}
	return nil
}
