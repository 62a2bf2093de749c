// Package roster manages the class list: creating users (with their home
// folder), importing a CSV roster, resetting passwords, deactivating. The
// command line and the teacher's API share it, so both apply the same rules.
package roster

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Roster changes users. EndSessions, when set, is called after a password
// reset or deactivation so a running server forgets the user's sessions at
// once; the store rows are removed either way.
type Roster struct {
	Store       *store.Store
	Workspace   *workspace.Workspace
	EndSessions func(ctx context.Context, username string) error
	Now         func() time.Time
}

// NewUser is a user to create. An empty Password gets a generated one; a
// PasswordHash (bcrypt, e.g. from the old system) is taken as it is.
type NewUser struct {
	Username     string
	Password     string
	PasswordHash string
	Role         store.Role
	FullName     string
}

// Created tells what was made; Password is set only when it was generated.
type Created struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Password string `json:"password,omitempty"`
}

// ParseRole accepts student and professor (teacher as a synonym); empty is student.
func ParseRole(s string) (store.Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "student":
		return store.RoleStudent, nil
	case "professor", "teacher":
		return store.RoleProfessor, nil
	}
	return "", fault.New(ErrInvalid, "The role %q is unknown: use student or professor.", s)
}

// Create makes a user and their home folder.
func (r *Roster) Create(ctx context.Context, nu NewUser) (Created, error) {
	if err := auth.ValidateUsername(nu.Username); err != nil {
		return Created{}, err
	}
	if nu.Role == "" {
		nu.Role = store.RoleStudent
	}
	if nu.Role != store.RoleStudent && nu.Role != store.RoleProfessor {
		return Created{}, fault.New(ErrInvalid, "The role %q is unknown: use student or professor.", nu.Role)
	}
	if len(nu.FullName) > 200 {
		return Created{}, fault.New(ErrInvalid, "The full name is too long (200 characters at most).")
	}
	out := Created{Username: nu.Username, Role: string(nu.Role)}
	hash := nu.PasswordHash
	switch {
	case hash != "":
		if err := auth.ValidateHash(hash); err != nil {
			return Created{}, err
		}
	default:
		pw := nu.Password
		if pw == "" {
			pw = GeneratePassword()
			out.Password = pw
		}
		h, err := auth.HashPassword(pw)
		if err != nil {
			return Created{}, err
		}
		hash = h
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	err := r.Store.CreateUser(ctx, store.User{
		Username: nu.Username, PasswordHash: hash, Role: nu.Role, FullName: nu.FullName,
		Active: true, CreatedAt: now().UTC(),
	})
	if errors.Is(err, store.ErrExists) {
		return Created{}, fault.New(ErrTaken, "The username %q is already taken.", nu.Username)
	}
	if err != nil {
		return Created{}, fault.Wrap(err, ErrUnavailable, "The user could not be saved. Please try again.")
	}
	if err := r.Workspace.EnsureHome(nu.Username); err != nil {
		return out, fault.Wrap(err, ErrNoHome, "The user was created but their folder could not be made. Try again to create it.")
	}
	return out, nil
}

// SetPassword sets a user's password and ends their sessions.
func (r *Roster) SetPassword(ctx context.Context, username, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	if err := r.Store.SetPassword(ctx, username, hash); err != nil {
		return mapNotFound(err, username)
	}
	return r.endSessions(ctx, username)
}

// Update changes a user's name, role or active flag; deactivation ends their sessions.
func (r *Roster) Update(ctx context.Context, username string, fullName *string, role *store.Role, active *bool) (store.User, error) {
	u, err := r.Store.GetUser(ctx, username)
	if err != nil {
		return store.User{}, mapNotFound(err, username)
	}
	if fullName != nil || role != nil {
		if fullName != nil {
			u.FullName = *fullName
		}
		if role != nil {
			if *role != store.RoleStudent && *role != store.RoleProfessor {
				return store.User{}, fault.New(ErrInvalid, "The role %q is unknown: use student or professor.", *role)
			}
			u.Role = *role
		}
		if err := r.Store.UpdateUser(ctx, username, u.FullName, u.Role); err != nil {
			return store.User{}, mapNotFound(err, username)
		}
	}
	if active != nil {
		if err := r.Store.SetActive(ctx, username, *active); err != nil {
			return store.User{}, mapNotFound(err, username)
		}
		u.Active = *active
		if !*active {
			if err := r.endSessions(ctx, username); err != nil {
				return u, err
			}
		}
	}
	return u, nil
}

func (r *Roster) endSessions(ctx context.Context, username string) error {
	if r.EndSessions != nil {
		return r.EndSessions(ctx, username)
	}
	_, err := r.Store.DeleteUserSessions(ctx, username, "")
	return err
}

func mapNotFound(err error, username string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.New(ErrNoUser, "There is no user %q.", username)
	}
	return fault.Wrap(err, ErrUnavailable, "The change could not be saved. Please try again.")
}

// passwordAlphabet leaves out characters that are easy to misread on a
// projector (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 10-character password (about 58 bits).
func GeneratePassword() string {
	b := make([]byte, 10)
	n := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b)
}

// Students lists the usernames of the active students: whom "all" means
// when a teacher hands something out.
func (r *Roster) Students(ctx context.Context) ([]string, error) {
	list, err := r.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, u := range list {
		if u.Role == store.RoleStudent && u.Active {
			users = append(users, u.Username)
		}
	}
	return users, nil
}

// FirstProfessor is the account a new class starts from: when the
// database holds no professor at all, it makes FirstProfessorName with a
// generated password and returns it (with the password, to be shown once);
// otherwise it returns a zero Created. Several instances starting at once
// make it once: the username is unique.
func (r *Roster) FirstProfessor(ctx context.Context) (Created, error) {
	list, err := r.Store.ListUsers(ctx)
	if err != nil {
		return Created{}, err
	}
	for _, u := range list {
		if u.Role == store.RoleProfessor {
			return Created{}, nil
		}
	}
	c, err := r.Create(ctx, NewUser{Username: FirstProfessorName, Role: store.RoleProfessor, FullName: "Administrator"})
	if errors.Is(err, ErrTaken) {
		return Created{}, nil // another instance made it, or a student has the name
	}
	return c, err
}

// FirstProfessorName is the first teacher account's username.
const FirstProfessorName = "admin"
