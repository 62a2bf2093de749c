// Package auth logs people in and out, keeps their sessions, and throttles
// password guessing. Sessions live in the store (the seed's user_sessions);
// the clear token exists only in the user's cookie.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Principal is who a request acts for.
type Principal struct {
	Username  string
	Role      store.Role
	FullName  string
	TokenHash string
	// Limits narrow what the user may reach now (an exam's student); the
	// web layer sets them on every request (never kept with the session).
	Limits *workspace.Limits
}

// Professor reports whether p may do everything.
func (p Principal) Professor() bool { return p.Role == store.RoleProfessor }

// Options are the session and throttle settings.
type Options struct {
	TTL           time.Duration // sliding lifetime
	SingleSession bool          // a new login ends older sessions of the user
	Revalidate    time.Duration // how long a cached session is trusted before the store is asked again
	LoginPerUser  int
	LoginPerAddr  int
	LoginWindow   time.Duration
	// SharedThrottle counts failed logins in the store instead of in
	// memory, so several instances sharing it throttle as one.
	SharedThrottle bool
	Now            func() time.Time
}

// Manager authenticates requests. Activity is kept in memory and written to
// the store in batches (Flush), so a busy class does not cost a database
// write per request.
type Manager struct {
	store  *store.Store
	opts   Options
	log    *slog.Logger
	byUser Limiter
	byAddr Limiter

	mu    sync.Mutex
	cache map[string]*cached // by token hash
}

type cached struct {
	p            Principal
	lastActivity time.Time
	checkedAt    time.Time // when the store last confirmed the session
	dirty        bool      // lastActivity not yet written
}

// NewManager makes a session manager over st.
func NewManager(st *store.Store, opts Options, log *slog.Logger) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Revalidate == 0 {
		opts.Revalidate = 5 * time.Second
	}
	m := &Manager{
		store:  st,
		opts:   opts,
		log:    log,
		byUser: NewThrottle(opts.LoginPerUser, opts.LoginWindow, opts.Now),
		byAddr: NewThrottle(opts.LoginPerAddr, opts.LoginWindow, opts.Now),
		cache:  map[string]*cached{},
	}
	if opts.SharedThrottle {
		m.byUser = NewSharedThrottle(st, "user:", opts.LoginPerUser, opts.LoginWindow, opts.Now)
		m.byAddr = NewSharedThrottle(st, "addr:", opts.LoginPerAddr, opts.LoginWindow, opts.Now)
	}
	return m
}

// HashToken is how a token is kept in the store.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var errBadLogin = fault.New(ErrWrongPassword, "Wrong username or password.")

// Login checks the password and opens a session. Failed attempts are
// throttled per username and per client address; a successful one clears the
// username's count.
func (m *Manager) Login(ctx context.Context, username, password, addr string) (string, Principal, error) {
	for _, t := range []struct {
		th  Limiter
		key string
	}{{m.byUser, username}, {m.byAddr, addr}} {
		if blocked, wait := t.th.Blocked(t.key); blocked {
			e := fault.New(ErrThrottled, "Too many login attempts. Please wait %s and try again.", humanWait(wait))
			e.Retry = wait
			return "", Principal{}, e
		}
	}
	u, err := m.store.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		CheckPassword(dummyHash(), password)
		m.fail(username, addr)
		return "", Principal{}, errBadLogin
	}
	if err != nil {
		return "", Principal{}, fault.Wrap(err, ErrUnavailable, "Logging in is not possible right now. Please try again in a minute.")
	}
	if !CheckPassword(u.PasswordHash, password) {
		m.fail(username, addr)
		return "", Principal{}, errBadLogin
	}
	if !u.Active {
		return "", Principal{}, fault.New(ErrDeactivated, "This account is deactivated. Ask your teacher.")
	}
	m.byUser.Reset(username)

	token, err := newToken()
	if err != nil {
		return "", Principal{}, fault.Wrap(err, ErrFailed, "Logging in failed. Please try again.")
	}
	now := m.opts.Now().UTC()
	sess := &store.Session{
		Username:        u.Username,
		TokenHash:       HashToken(token),
		ClientAddr:      addr,
		LoginAt:         now,
		LastActivity:    now,
		ExpiresAt:       now.Add(m.opts.TTL),
		ActiveProcesses: []byte("[]"),
		ResourceUsage:   []byte("{}"),
	}
	if m.opts.SingleSession {
		if _, err := m.store.DeleteUserSessions(ctx, u.Username, ""); err != nil {
			return "", Principal{}, fault.Wrap(err, ErrUnavailable, "Logging in is not possible right now. Please try again in a minute.")
		}
		m.forgetUser(u.Username)
	}
	if err := m.store.CreateSession(ctx, sess); err != nil {
		return "", Principal{}, fault.Wrap(err, ErrUnavailable, "Logging in is not possible right now. Please try again in a minute.")
	}
	if err := m.store.SetLastLogin(ctx, u.Username, now); err != nil {
		m.log.Warn("recording last login failed", "user", u.Username, "err", err)
	}
	p := Principal{Username: u.Username, Role: u.Role, FullName: u.FullName, TokenHash: sess.TokenHash}
	m.mu.Lock()
	m.cache[sess.TokenHash] = &cached{p: p, lastActivity: now, checkedAt: now}
	m.mu.Unlock()
	return token, p, nil
}

func (m *Manager) fail(username, addr string) {
	m.byUser.Hit(username)
	m.byAddr.Hit(addr)
}

func humanWait(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

var errNoSession = fault.New(ErrNoSession, "Please log in.")
var errExpired = fault.New(ErrNoSession, "Your session has ended. Please log in again.")

// Authenticate finds the session for a cookie token and slides its expiry.
// A session is re-read from the store every Revalidate, so a logout,
// takeover or deactivation on another server instance takes effect within
// that time.
func (m *Manager) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, errNoSession
	}
	h := HashToken(token)
	now := m.opts.Now().UTC()

	m.mu.Lock()
	c, ok := m.cache[h]
	if ok && now.Sub(c.checkedAt) < m.opts.Revalidate {
		if now.Sub(c.lastActivity) >= m.opts.TTL {
			delete(m.cache, h)
			m.mu.Unlock()
			return Principal{}, errExpired
		}
		c.lastActivity, c.dirty = now, true
		p := c.p
		m.mu.Unlock()
		return p, nil
	}
	m.mu.Unlock()

	sess, err := m.store.SessionByTokenHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		m.drop(h)
		return Principal{}, errExpired
	}
	if err != nil {
		// The database is down: keep serving sessions we already know, so a
		// class goes on saving and running through a short outage.
		if ok {
			m.mu.Lock()
			c.lastActivity, c.dirty = now, true
			p := c.p
			m.mu.Unlock()
			return p, nil
		}
		return Principal{}, fault.Wrap(err, ErrUnavailable, "The server cannot check your login right now. Please try again in a minute.")
	}
	last := sess.LastActivity
	if ok && c.lastActivity.After(last) {
		last = c.lastActivity
	}
	if now.Sub(last) >= m.opts.TTL {
		m.drop(h)
		_ = m.store.DeleteSession(ctx, h)
		return Principal{}, errExpired
	}
	u, err := m.store.GetUser(ctx, sess.Username)
	if err != nil || !u.Active {
		m.drop(h)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			_ = m.store.DeleteSession(ctx, h)
			return Principal{}, errExpired
		}
		return Principal{}, fault.Wrap(err, ErrUnavailable, "The server cannot check your login right now. Please try again in a minute.")
	}
	p := Principal{Username: u.Username, Role: u.Role, FullName: u.FullName, TokenHash: h}
	m.mu.Lock()
	m.cache[h] = &cached{p: p, lastActivity: now, checkedAt: now, dirty: true}
	m.mu.Unlock()
	return p, nil
}

// Logout ends the session of token.
func (m *Manager) Logout(ctx context.Context, tokenHash string) error {
	m.drop(tokenHash)
	return m.store.DeleteSession(ctx, tokenHash)
}

// EndUserSessions ends every session of username (deactivation, password reset).
func (m *Manager) EndUserSessions(ctx context.Context, username, exceptTokenHash string) error {
	m.mu.Lock()
	for h, c := range m.cache {
		if c.p.Username == username && h != exceptTokenHash {
			delete(m.cache, h)
		}
	}
	m.mu.Unlock()
	_, err := m.store.DeleteUserSessions(ctx, username, exceptTokenHash)
	return err
}

// ChangePassword checks the old password and sets the new one; the user's
// other sessions end.
func (m *Manager) ChangePassword(ctx context.Context, p Principal, oldPw, newPw string) error {
	u, err := m.store.GetUser(ctx, p.Username)
	if err != nil {
		return fault.Wrap(err, ErrUnavailable, "The password cannot be changed right now. Please try again in a minute.")
	}
	if !CheckPassword(u.PasswordHash, oldPw) {
		return fault.New(ErrWrongPassword, "The current password is not right.")
	}
	hash, err := HashPassword(newPw)
	if err != nil {
		return err
	}
	if err := m.store.SetPassword(ctx, p.Username, hash); err != nil {
		return fault.Wrap(err, ErrUnavailable, "The password cannot be changed right now. Please try again in a minute.")
	}
	return m.EndUserSessions(ctx, p.Username, p.TokenHash)
}

func (m *Manager) drop(h string) {
	m.mu.Lock()
	delete(m.cache, h)
	m.mu.Unlock()
}

func (m *Manager) forgetUser(username string) {
	m.mu.Lock()
	for h, c := range m.cache {
		if c.p.Username == username {
			delete(m.cache, h)
		}
	}
	m.mu.Unlock()
}

// Flush writes coalesced activity to the store and drops expired sessions
// from memory and the store.
func (m *Manager) Flush(ctx context.Context) error {
	now := m.opts.Now().UTC()
	var touches []store.SessionTouch
	m.mu.Lock()
	for h, c := range m.cache {
		if now.Sub(c.lastActivity) >= m.opts.TTL {
			delete(m.cache, h)
			continue
		}
		if c.dirty {
			touches = append(touches, store.SessionTouch{TokenHash: h, LastActivity: c.lastActivity, ExpiresAt: c.lastActivity.Add(m.opts.TTL)})
			c.dirty = false
		}
	}
	m.mu.Unlock()
	var errs []error
	if len(touches) > 0 {
		if err := m.store.TouchSessions(ctx, touches); err != nil {
			m.markDirty(touches)
			errs = append(errs, err)
		}
	}
	if _, err := m.store.DeleteExpiredSessions(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Manager) markDirty(touches []store.SessionTouch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range touches {
		if c, ok := m.cache[t.TokenHash]; ok {
			c.dirty = true
		}
	}
}

// Run flushes every interval until ctx ends, then once more.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := m.Flush(fctx); err != nil {
				m.log.Warn("final session flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := m.Flush(ctx); err != nil {
				m.log.Warn("session flush failed", "err", err)
			}
		}
	}
}
