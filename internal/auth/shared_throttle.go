package auth

import (
	"context"
	"time"

	"github.com/pythonide/pythonide/internal/store"
)

// Limiter counts failed logins per key. A Throttle does it in this
// instance's memory (one instance); a SharedThrottle in the database, so
// several instances allow a guesser only what one would.
type Limiter interface {
	// Blocked reports whether key has no attempt left, and if so how long
	// until it has one.
	Blocked(key string) (bool, time.Duration)
	// Hit spends one attempt of key.
	Hit(key string)
	// Reset forgets key (after a successful login).
	Reset(key string)
}

// SharedThrottle allows burst failures per window for each key, counted in
// the store's login_failures table (a sliding window). A database that
// does not answer blocks nobody: logging in fails anyway then.
type SharedThrottle struct {
	st     *store.Store
	prefix string // "user:" or "addr:", so one table serves both
	burst  int
	window time.Duration
	now    func() time.Time
}

// NewSharedThrottle counts in st, under keys starting with prefix.
func NewSharedThrottle(st *store.Store, prefix string, burst int, window time.Duration, now func() time.Time) *SharedThrottle {
	return &SharedThrottle{st: st, prefix: prefix, burst: burst, window: window, now: now}
}

func (t *SharedThrottle) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

func (t *SharedThrottle) Blocked(key string) (bool, time.Duration) {
	ctx, cancel := t.ctx()
	defer cancel()
	now := t.now()
	n, oldest, err := t.st.LoginFailures(ctx, t.prefix+key, now.Add(-t.window))
	if err != nil || n < t.burst {
		return false, 0
	}
	wait := oldest.Add(t.window).Sub(now)
	return true, wait.Round(time.Second) + time.Second
}

func (t *SharedThrottle) Hit(key string) {
	ctx, cancel := t.ctx()
	defer cancel()
	t.st.RecordLoginFailure(ctx, t.prefix+key, t.now())
}

func (t *SharedThrottle) Reset(key string) {
	ctx, cancel := t.ctx()
	defer cancel()
	// Failures older than the window count for nobody: forget them too.
	t.st.ClearLoginFailures(ctx, t.prefix+key, t.now().Add(-t.window))
}
