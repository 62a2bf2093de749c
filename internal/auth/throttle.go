package auth

import (
	"sync"
	"time"
)

// Throttle limits events per key with a token bucket: Burst events at once,
// refilled evenly over Window. It forgets full buckets so memory stays
// bounded by the keys currently being limited.
type Throttle struct {
	mu      sync.Mutex
	burst   float64
	window  time.Duration
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewThrottle allows burst events per window for each key.
func NewThrottle(burst int, window time.Duration, now func() time.Time) *Throttle {
	return &Throttle{burst: float64(burst), window: window, buckets: map[string]*bucket{}, now: now}
}

func (t *Throttle) refill(b *bucket, now time.Time) {
	rate := t.burst / float64(t.window)
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))*rate)
	b.at = now
}

// Blocked reports whether key has no event left, and if so how long until it has one.
func (t *Throttle) Blocked(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		return false, 0
	}
	now := t.now()
	t.refill(b, now)
	if b.tokens >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(t.window) / t.burst)
	return true, wait.Round(time.Second) + time.Second
}

// Hit spends one event of key.
func (t *Throttle) Hit(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b, ok := t.buckets[key]
	if !ok {
		b = &bucket{tokens: t.burst, at: now}
		t.buckets[key] = b
		if len(t.buckets) > 1024 {
			t.prune(now)
		}
	}
	t.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// Reset forgets key (after a successful login).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.buckets, key)
	t.mu.Unlock()
}

func (t *Throttle) prune(now time.Time) {
	for k, b := range t.buckets {
		t.refill(b, now)
		if b.tokens >= t.burst {
			delete(t.buckets, k)
		}
	}
}

// Len is the number of keys held (for tests and metrics).
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
