package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

func addUser(t *testing.T, st *store.Store, name, pw string, role store.Role) {
	t.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), store.User{Username: name, PasswordHash: h, Role: role, Active: true, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func newManager(st *store.Store, c *clock) *Manager {
	return NewManager(st, Options{
		TTL: 24 * time.Hour, SingleSession: true, Revalidate: 5 * time.Second,
		LoginPerUser: 3, LoginPerAddr: 10, LoginWindow: 5 * time.Minute, Now: c.Now,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestLoginAndAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		m := newManager(st, c)
		addUser(t, st, "alice", "correct horse", store.RoleStudent)

		if _, _, err := m.Login(ctx, "alice", "wrong", "10.0.0.1"); !unauthenticated(err) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, _, err := m.Login(ctx, "nobody", "x", "10.0.0.1"); !unauthenticated(err) || !strings.Contains(err.Error(), "Wrong username or password") {
			t.Fatalf("unknown user should look like a wrong password: %v", err)
		}
		token, p, err := m.Login(ctx, "alice", "correct horse", "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p.Username != "alice" || p.Professor() {
			t.Fatalf("principal %+v", p)
		}
		// The store holds only the hash of the token.
		sess, err := st.SessionByTokenHash(ctx, HashToken(token))
		if err != nil || sess.TokenHash == token || strings.Contains(sess.TokenHash, token) {
			t.Fatalf("session row %+v, %v", sess, err)
		}
		if got, err := m.Authenticate(ctx, token); err != nil || got.Username != "alice" {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		if _, err := m.Authenticate(ctx, token+"x"); !unauthenticated(err) {
			t.Fatalf("forged token accepted: %v", err)
		}
		if u, _ := st.GetUser(ctx, "alice"); u.LastLoginAt.IsZero() {
			t.Fatal("last login not recorded")
		}
	})
}

func TestSlidingExpiryAndFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		m := newManager(st, c)
		addUser(t, st, "bob", "secret12", store.RoleStudent)
		token, _, err := m.Login(ctx, "bob", "secret12", "a")
		if err != nil {
			t.Fatal(err)
		}
		// Active every 20 hours: the session slides past 24 h from login.
		for i := 0; i < 3; i++ {
			c.Add(20 * time.Hour)
			if _, err := m.Authenticate(ctx, token); err != nil {
				t.Fatalf("active session expired after %d×20h: %v", i+1, err)
			}
			if err := m.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sess, err := st.SessionByTokenHash(ctx, HashToken(token))
		if err != nil {
			t.Fatal(err)
		}
		if !sess.LastActivity.Equal(c.Now()) || !sess.ExpiresAt.Equal(c.Now().Add(24*time.Hour)) {
			t.Fatalf("activity not flushed: last=%v expires=%v now=%v", sess.LastActivity, sess.ExpiresAt, c.Now())
		}
		// Idle for a whole TTL: gone, in memory and in the store.
		c.Add(24 * time.Hour)
		if _, err := m.Authenticate(ctx, token); !unauthenticated(err) {
			t.Fatalf("idle session still valid: %v", err)
		}
		if err := m.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SessionByTokenHash(ctx, HashToken(token)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session row kept: %v", err)
		}
	})
}

func TestSingleSessionTakeoverAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		a, b := newManager(st, c), newManager(st, c) // two server instances
		addUser(t, st, "carol", "secret12", store.RoleStudent)
		t1, _, err := a.Login(ctx, "carol", "secret12", "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, t1); err != nil {
			t.Fatal(err)
		}
		t2, _, err := b.Login(ctx, "carol", "secret12", "y")
		if err != nil {
			t.Fatal(err)
		}
		// Instance a trusts its cache for at most Revalidate, then sees the takeover.
		c.Add(6 * time.Second)
		if _, err := a.Authenticate(ctx, t1); !unauthenticated(err) {
			t.Fatalf("old session survived a new login elsewhere: %v", err)
		}
		if _, err := a.Authenticate(ctx, t2); err != nil {
			t.Fatalf("new session refused on the other instance: %v", err)
		}
	})
}

func TestDeactivatedAndPasswordChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		m := NewManager(st, Options{TTL: time.Hour, SingleSession: false, LoginPerUser: 10, LoginPerAddr: 10, LoginWindow: time.Minute, Now: c.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		addUser(t, st, "dan", "secret12", store.RoleStudent)
		t1, p1, err := m.Login(ctx, "dan", "secret12", "x")
		if err != nil {
			t.Fatal(err)
		}
		t2, _, err := m.Login(ctx, "dan", "secret12", "y")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Authenticate(ctx, t1); err != nil {
			t.Fatalf("with single-session off, both sessions live: %v", err)
		}
		if err := m.ChangePassword(ctx, p1, "wrong", "newsecret1"); !unauthenticated(err) {
			t.Fatalf("wrong old password: %v", err)
		}
		if err := m.ChangePassword(ctx, p1, "secret12", "abc"); !errors.Is(err, ErrBadPassword) {
			t.Fatalf("short new password: %v", err)
		}
		if err := m.ChangePassword(ctx, p1, "secret12", "newsecret1"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Authenticate(ctx, t1); err != nil {
			t.Fatalf("the session that changed the password should stay: %v", err)
		}
		if _, err := m.Authenticate(ctx, t2); !unauthenticated(err) {
			t.Fatalf("other session should end on password change: %v", err)
		}
		if _, _, err := m.Login(ctx, "dan", "secret12", "x"); !unauthenticated(err) {
			t.Fatal("old password still works")
		}
		if err := st.SetActive(ctx, "dan", false); err != nil {
			t.Fatal(err)
		}
		_, _, err = m.Login(ctx, "dan", "newsecret1", "x")
		if !unauthenticated(err) || !strings.Contains(err.Error(), "deactivated") {
			t.Fatalf("deactivated user logged in: %v", err)
		}
		c.Add(6 * time.Second)
		if _, err := m.Authenticate(ctx, t1); !unauthenticated(err) {
			t.Fatalf("deactivated user's session still valid: %v", err)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	c := newClock()
	m := newManager(st, c) // 3 per user, 10 per address, per 5 minutes
	addUser(t, st, "eve", "secret12", store.RoleStudent)
	for i := 0; i < 3; i++ {
		if _, _, err := m.Login(ctx, "eve", "guess", "1.1.1.1"); !unauthenticated(err) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, _, err := m.Login(ctx, "eve", "secret12", "2.2.2.2")
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("4th attempt on the username should be throttled even with the right password: %v", err)
	}
	if e := (*fault.Error)(nil); !errors.As(err, &e) || e.Retry <= 0 {
		t.Fatalf("throttle error %+v", e)
	}
	// Another user from another address is not affected.
	addUser(t, st, "frank", "secret12", store.RoleStudent)
	if _, _, err := m.Login(ctx, "frank", "secret12", "3.3.3.3"); err != nil {
		t.Fatal(err)
	}
	// After the window refills one attempt, the right password works and resets.
	c.Add(2 * time.Minute)
	if _, _, err := m.Login(ctx, "eve", "secret12", "2.2.2.2"); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	// Per-address: 10 failures from one address across many usernames.
	for i := 0; i < 10; i++ {
		m.Login(ctx, "nobody"+string(rune('a'+i)), "x", "6.6.6.6")
	}
	if _, _, err := m.Login(ctx, "frank", "secret12", "6.6.6.6"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("address not throttled: %v", err)
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	c := newClock()
	th := NewThrottle(5, time.Minute, c.Now)
	for i := 0; i < 5000; i++ {
		th.Hit(strings.Repeat("k", i%50) + string(rune(i)))
		c.Add(time.Second)
	}
	if th.Len() > 1100 {
		t.Fatalf("throttle holds %d keys; refilled keys should be forgotten", th.Len())
	}
}

func TestPasswordRules(t *testing.T) {
	for _, pw := range []string{"", "12345", strings.Repeat("x", 73), "abc\xffdef"} {
		if _, err := HashPassword(pw); !errors.Is(err, ErrBadPassword) {
			t.Errorf("password %q accepted: %v", pw, err)
		}
	}
	h, err := HashPassword("goodpass")
	if err != nil || !CheckPassword(h, "goodpass") || CheckPassword(h, "goodpasS") {
		t.Fatalf("hash/check: %v", err)
	}
	for _, name := range []string{"", ".hidden", "-x", "a/b", "a b", "..", "ünï", strings.Repeat("a", 65), "a\x00"} {
		if ValidateUsername(name) == nil {
			t.Errorf("username %q accepted", name)
		}
	}
	for _, name := range []string{"alice", "Bob.Smith", "s_123", "x-y"} {
		if err := ValidateUsername(name); err != nil {
			t.Errorf("username %q refused: %v", name, err)
		}
	}
}

// TestPythonBcryptHashesVerify proves an existing class's hashes, made by
// Python's bcrypt ($2b$), log in here.
func TestPythonBcryptHashesVerify(t *testing.T) {
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import bcrypt; print(bcrypt.hashpw(b'classroom-pw', bcrypt.gensalt(rounds=4)).decode())").Output()
	if err != nil {
		t.Skipf("Python's bcrypt module is not installed (Debian package python3-bcrypt): %v", err)
	}
	hash := strings.TrimSpace(string(out))
	if !strings.HasPrefix(hash, "$2b$") {
		t.Fatalf("unexpected hash %q", hash)
	}
	if err := ValidateHash(hash); err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(hash, "classroom-pw") || CheckPassword(hash, "classroom-pW") {
		t.Fatal("Python bcrypt hash does not verify")
	}
}

// TestNoWorkAtInit guards the spawn path: the sandbox re-executes the server
// binary for every student program, so package init must stay cheap.
func TestNoWorkAtInit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a subprocess")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// init github.com/pythonide/pythonide/internal/auth @2.1 ms, 0.010 ms clock, 0 bytes, 0 allocs
		if strings.HasPrefix(line, "init github.com/pythonide/pythonide/internal/auth ") {
			f := strings.Fields(line)
			if len(f) > 5 {
				if ms, err := strconv.ParseFloat(f[4], 64); err == nil && ms > 20 {
					t.Fatalf("auth init takes %v ms (a bcrypt hash at init costs every spawn ~60 ms): %s", ms, line)
				}
			}
		}
	}
}

// unauthenticated reports whether err says the caller is not who they claim
// (the API's 401).
func unauthenticated(err error) bool {
	return errors.Is(err, ErrWrongPassword) || errors.Is(err, ErrNoSession) || errors.Is(err, ErrDeactivated)
}

// Two instances sharing the database throttle as one: failures on either
// count for both, and a success on one resets both.
func TestSharedThrottleAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		opts := Options{TTL: time.Hour, LoginPerUser: 3, LoginPerAddr: 10, LoginWindow: 5 * time.Minute, SharedThrottle: true, Now: c.Now}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		a := NewManager(st, opts, quiet)
		b := NewManager(st, opts, quiet)
		addUser(t, st, "eve", "secret12", store.RoleStudent)
		for i, m := range []*Manager{a, b, a} {
			if _, _, err := m.Login(ctx, "eve", "guess", "1.1.1."+string(rune('1'+i))); !unauthenticated(err) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		_, _, err := b.Login(ctx, "eve", "secret12", "2.2.2.2")
		if e := (*fault.Error)(nil); !errors.As(err, &e) || !errors.Is(err, ErrThrottled) || e.Retry <= 0 {
			t.Fatalf("the 4th attempt, on the other instance: %v", err)
		}
		c.Add(5*time.Minute + time.Second) // the failures leave the window
		if _, _, err := b.Login(ctx, "eve", "secret12", "2.2.2.2"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		for i := 0; i < 2; i++ {
			a.Login(ctx, "eve", "guess", "4.4.4.4")
		}
		if _, _, err := a.Login(ctx, "eve", "secret12", "4.4.4.4"); err != nil {
			t.Fatalf("the success reset the count, so 2 failures leave room: %v", err)
		}
	})
}
