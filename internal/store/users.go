package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Role is what a user may do: students run code in their own folder,
// professors also administer.
type Role string

const (
	RoleStudent   Role = "student"
	RoleProfessor Role = "professor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleStudent || r == RoleProfessor }

// User is an account. Username format is the caller's to validate; the store
// stores whatever it is given.
type User struct {
	Username, PasswordHash, FullName string
	Role                             Role
	Active                           bool
	CreatedAt                        time.Time // UTC
	LastLoginAt                      time.Time // UTC; zero if never
}

const userColumns = `username, password_hash, full_name, role, active, created_at, last_login_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (User, error) {
	var u User
	var role string
	err := r.Scan(&u.Username, &u.PasswordHash, &u.FullName, &role, &u.Active,
		timeCol{&u.CreatedAt}, timeCol{&u.LastLoginAt})
	u.Role = Role(role)
	return u, err
}

// CreateUser inserts u; ErrExists if the username is taken. A zero CreatedAt
// means now.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if !u.Role.Valid() {
		return fmt.Errorf("store: create user %q: invalid role %q", u.Username, u.Role)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.Username, u.PasswordHash, u.FullName, string(u.Role), u.Active,
		s.d.timeArg(u.CreatedAt), s.d.nullTimeArg(u.LastLoginAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("store: create user %q: %w", u.Username, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store: create user %q: %w", u.Username, err)
	}
	return nil
}

// GetUser returns the user or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", username, err)
	}
	return u, nil
}

// ListUsers returns every user ordered by username (bytewise).
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// ProfessorHasLoggedIn reports whether any professor has ever logged in
// (the login page's first-run hint: GET /api/setup, asked by anyone).
func (s *Store) ProfessorHasLoggedIn(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE role = $1 AND last_login_at IS NOT NULL LIMIT 1) AS p`, string(RoleProfessor)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: professor logged in: %w", err)
	}
	return n > 0, nil
}

// SetPassword replaces the password hash; ErrNotFound if no such user.
func (s *Store) SetPassword(ctx context.Context, username, hash string) error {
	return s.execOne(ctx, fmt.Sprintf("set password of %q", username),
		`UPDATE users SET password_hash = $1 WHERE username = $2`, hash, username)
}

// SetActive (de)activates a user; ErrNotFound if no such user. Deactivating
// does not end sessions: the caller decides (DeleteUserSessions).
func (s *Store) SetActive(ctx context.Context, username string, active bool) error {
	return s.execOne(ctx, fmt.Sprintf("set active of %q", username),
		`UPDATE users SET active = $1 WHERE username = $2`, active, username)
}

// UpdateUser changes the full name and role; ErrNotFound if no such user.
func (s *Store) UpdateUser(ctx context.Context, username, fullName string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("store: update user %q: invalid role %q", username, role)
	}
	return s.execOne(ctx, fmt.Sprintf("update user %q", username),
		`UPDATE users SET full_name = $1, role = $2 WHERE username = $3`, fullName, string(role), username)
}

// SetLastLogin records a login time (the zero time clears it); ErrNotFound if
// no such user.
func (s *Store) SetLastLogin(ctx context.Context, username string, t time.Time) error {
	return s.execOne(ctx, fmt.Sprintf("set last login of %q", username),
		`UPDATE users SET last_login_at = $1 WHERE username = $2`, s.d.nullTimeArg(t), username)
}

// DeleteUser removes a user and, by cascade, their sessions; ErrNotFound if
// no such user. Their files are not the store's concern.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return s.execOne(ctx, fmt.Sprintf("delete user %q", username),
		`DELETE FROM users WHERE username = $1`, username)
}
