// Package registry is the single source of truth for which processes the
// server has started and may therefore stop. It is pure policy: it admits or
// refuses and keeps the books (states, timers, samples, connections); it
// never spawns, signals or reads /proc. The cleanup package decides from its
// snapshots what to stop; other packages act.
//
// Every process is registered (Admit) before it is spawned and removed
// (Remove) when it has ended. There is deliberately no API that takes a pid
// and says "stop this": the cleanup job of the system this replaces matched
// processes by name and killed the server every 30 minutes.
package registry

import (
	"sync"
	"time"
)

// Clock gives the registry its notion of now, so tests can move time.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now(), whose monotonic reading keeps durations honest
// across wall-clock jumps.
func (SystemClock) Now() time.Time { return time.Now() }

// Registry holds the server's processes. It is safe for concurrent use; one
// mutex guards everything, since every operation is a few map look-ups.
type Registry struct {
	clock Clock

	mu     sync.Mutex
	limits Limits
	procs  map[string]*proc
	owners map[string]*owner
	pids   map[pidKey]string // started processes, so one pid is never held twice

	// Kept incrementally so Admit costs the same with 10 or 10,000 processes.
	counted     int   // processes counting against the limits (not replaced)
	activeUsers int   // owners with at least one counted process
	charged     int64 // memory counted for admission, see chargeOf
}

// owner is per-user state: connection refcount and the user's processes.
type owner struct {
	conns int
	// since is when the owner was last seen without a connection: when the
	// last one closed, or when a process was admitted while none was open.
	since   time.Time
	procs   map[string]*proc
	counted int
}

type pidKey struct {
	pid   int
	start uint64
}

// New makes an empty registry.
func New(l Limits, c Clock) (*Registry, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		c = SystemClock{}
	}
	return &Registry{
		clock:  c,
		limits: l,
		procs:  make(map[string]*proc),
		owners: make(map[string]*owner),
		pids:   make(map[pidKey]string),
	}, nil
}

// SetLimits replaces the limits. Processes already running are not harmed by
// a lower limit; it only refuses new ones and moves the sweep's boundaries.
func (r *Registry) SetLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits = l
	for _, p := range r.procs {
		r.recharge(p) // unsampled processes are charged at MemoryPerProc
	}
	return nil
}

// Limits returns the limits in force.
func (r *Registry) Limits() Limits {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.limits
}

// chargeOf is what p counts for in memory admission. A process not yet
// measured counts at its full allowance, so a burst of starts at the top of
// a lesson cannot all pass the check before the first sample arrives.
func (r *Registry) chargeOf(p *proc) int64 { return charge(p.counted(), p.sampled, p.mem, r.limits) }

func (r *Registry) recharge(p *proc) {
	c := r.chargeOf(p)
	r.charged += c - p.charged
	p.charged = c
}

func (r *Registry) ownerOf(name string) *owner {
	o := r.owners[name]
	if o == nil {
		o = &owner{procs: make(map[string]*proc)}
		r.owners[name] = o
	}
	return o
}

// forgetOwner drops an owner nobody needs any more, so the map does not grow
// with every user who ever logged in.
func (r *Registry) forgetOwner(name string) {
	if o := r.owners[name]; o != nil && o.conns == 0 && len(o.procs) == 0 {
		delete(r.owners, name)
	}
}

// count and uncount move a process in or out of the limits' totals.
func (r *Registry) count(o *owner) {
	r.counted++
	o.counted++
	if o.counted == 1 {
		r.activeUsers++
	}
}

func (r *Registry) uncount(o *owner) {
	r.counted--
	o.counted--
	if o.counted == 0 {
		r.activeUsers--
	}
}
