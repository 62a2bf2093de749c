package registry

import (
	"errors"
	"fmt"

	"github.com/pythonide/pythonide/internal/fault"
)

// The kinds of Admit's refusals (fault.Error kinds, matched with
// errors.Is): every limit is an ErrLimit, and says which one it was, so
// callers and metrics can tell without parsing the message.
var (
	ErrLimit        = errors.New("registry: an admission limit is reached")
	ErrPerUserLimit = fmt.Errorf("registry: per-user process limit: %w", ErrLimit)
	ErrUsersLimit   = fmt.Errorf("registry: active-user limit: %w", ErrLimit)
	ErrTotalLimit   = fmt.Errorf("registry: total process limit: %w", ErrLimit)
	ErrMemoryLimit  = fmt.Errorf("registry: total memory limit: %w", ErrLimit)
	ErrInvalid      = errors.New("registry: the request is incomplete")
	ErrDuplicate    = errors.New("registry: a process with this id is already held")
)

// Errors from the bookkeeping calls; they point at a bug or a race in the
// caller, never at something a student did.
var (
	ErrNotFound       = errors.New("registry: no such process")
	ErrAlreadyStarted = errors.New("registry: process already started")
	ErrPIDHeld        = errors.New("registry: pid already held by another process")
)

// Request asks to register a process before it is spawned. ID must be unique
// on the server: the caller should not pass a browser-chosen id unchanged,
// since two students' browsers can pick the same one.
type Request struct {
	ID    string
	Owner string
	Path  string // the file for a script; "" for a bare REPL
	Kind  Kind
}

// Admit registers a process before it starts, or refuses it.
//
// If the owner already has a process for the same path (a script still
// running, or the REPL it turned into), a script request replaces it: that
// process is returned as replaced, stops counting against the limits at
// once, and the caller must stop it and Remove it. A refusal is a
// *fault.Error of kind ErrInvalid, ErrDuplicate or one of the Err*Limit
// (all ErrLimit) with a message naming the limit; nothing already running
// is touched.
func (r *Registry) Admit(req Request) (replaced *Process, err error) {
	if err := validate(req); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.procs[req.ID]; dup {
		return nil, fault.New(ErrDuplicate, "A program with this id is already running.")
	}
	now := r.clock.Now()
	o := r.owners[req.Owner]

	var old *proc
	if req.Kind == KindScript && o != nil {
		for _, p := range o.procs {
			if p.path == req.Path && p.counted() {
				old = p
				break
			}
		}
	}
	if err := r.check(o, old); err != nil {
		return nil, err
	}

	if o == nil {
		o = r.ownerOf(req.Owner)
	}
	if o.conns == 0 {
		// Asking for a run is being present: restart the abandonment grace
		// rather than inherit an old disconnection.
		o.since = now
	}
	if old != nil {
		old.replacedBy = req.ID
		r.uncount(o)
		r.recharge(old)
		s := old.snapshot(now, o)
		replaced = &s
	}
	p := &proc{
		id: req.ID, owner: req.Owner, path: req.Path, kind: req.Kind,
		state: StateStarting, admittedAt: now, stateSince: now, lastActivity: now,
	}
	r.procs[p.id] = p
	o.procs[p.id] = p
	r.count(o)
	r.recharge(p)
	return replaced, nil
}

func validate(req Request) error {
	switch {
	case req.ID == "":
		return fault.New(ErrInvalid, "The program needs an id.")
	case req.Owner == "":
		return fault.New(ErrInvalid, "The program needs an owner.")
	case !req.Kind.valid():
		return fault.New(ErrInvalid, "Only scripts, REPLs and tests can be started.")
	case req.Kind == KindScript && req.Path == "":
		return fault.New(ErrInvalid, "Choose a file to run.")
	}
	return nil
}

// check applies the admission limits as they would stand with old (if any)
// already gone. The per-user limit comes first: it is the one the student
// can do something about.
func (r *Registry) check(o *owner, old *proc) error {
	c := Counts{Total: r.counted, Users: r.activeUsers, Charged: r.charged}
	if o != nil {
		c.Mine = o.counted
	}
	if old != nil {
		c.Mine--
		c.Total--
		c.Charged -= old.charged
		if c.Mine == 0 {
			c.Users--
		}
	}
	return r.limits.Check(c)
}

// Counts are what admission limits are checked against: the asking
// owner's processes, the users with processes, all processes, and the
// memory charged for them, each with the process a new run replaces
// already left out. Several instances count them across the class
// (internal/cluster) and check them the same way.
type Counts struct {
	Mine    int   // the owner's processes
	Users   int   // users with at least one process
	Total   int   // processes
	Charged int64 // memory counted for admission (unmeasured processes at MemoryPerProc)
}

// Check refuses one more process under l when c is at a limit, with the
// limit's kind and a message naming it. The per-user limit comes first: it
// is the one the student can do something about.
func (l Limits) Check(c Counts) error {
	switch {
	case c.Mine >= l.MaxPerUser:
		return limitErr(ErrPerUserLimit, "You already have %d %s running (the limit is %d). Stop one first.",
			c.Mine, plural(c.Mine, "program", "programs"), l.MaxPerUser)
	case c.Mine == 0 && c.Users >= l.MaxActiveUsers:
		return limitErr(ErrUsersLimit, "The server is at its limit of %d %s running programs at once. Please try again in a minute.",
			l.MaxActiveUsers, plural(l.MaxActiveUsers, "student", "students"))
	case c.Total >= l.MaxTotal:
		return limitErr(ErrTotalLimit, "The server is at its limit of %d %s running at once. Please try again in a minute.",
			l.MaxTotal, plural(l.MaxTotal, "program", "programs"))
	case c.Charged+l.MemoryPerProc > l.MemoryTotal:
		return limitErr(ErrMemoryLimit, "The server does not have enough memory left for another program (all programs together may use %s). Please try again in a minute.",
			humanBytes(l.MemoryTotal))
	}
	return nil
}

func limitErr(kind error, format string, args ...any) error {
	return fault.New(kind, format, args...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Started records the spawned process's pid and its start time. An
// ErrNotFound answer means the entry was removed meanwhile (replaced, or
// swept because the spawn took too long): the caller must stop what it
// just spawned.
func (r *Registry) Started(id string, pid int, pidStart uint64) error {
	if pid <= 0 {
		return fmt.Errorf("registry: Started(%q) with pid %d", id, pid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	switch {
	case p == nil:
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case p.pid != 0:
		return fmt.Errorf("%w: %q has pid %d", ErrAlreadyStarted, id, p.pid)
	}
	key := pidKey{pid, pidStart}
	if other, held := r.pids[key]; held {
		return fmt.Errorf("%w: pid %d belongs to %q", ErrPIDHeld, pid, other)
	}
	now := r.clock.Now()
	r.pids[key] = id
	p.pid, p.pidStart, p.startedAt, p.lastActivity = pid, pidStart, now, now
	p.setState(StateRunning, now)
	return nil
}

// Remove unregisters a process that has ended (or was never spawned) and
// returns its last snapshot.
func (r *Registry) Remove(id string) (Process, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil {
		return Process{}, false
	}
	now := r.clock.Now()
	o := r.owners[p.owner]
	s := p.snapshot(now, o)
	if p.counted() {
		r.uncount(o)
	}
	r.charged -= p.charged
	delete(r.procs, id)
	delete(o.procs, id)
	if p.pid != 0 {
		delete(r.pids, pidKey{p.pid, p.pidStart})
	}
	r.forgetOwner(p.owner)
	return s, true
}
