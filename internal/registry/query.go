package registry

import (
	"cmp"
	"slices"
	"time"
)

// Get returns a snapshot of one process.
func (r *Registry) Get(id string) (Process, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil {
		return Process{}, false
	}
	return p.snapshot(r.clock.Now(), r.owners[p.owner]), true
}

// Snapshot returns every process, sorted by owner, then admission time.
func (r *Registry) Snapshot() []Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		ps = append(ps, p)
	}
	return r.snapshots(ps)
}

// View is every process (as Snapshot), the limits in force and the moment
// the copy was taken, all read at once: what the cleanup service decides
// from.
func (r *Registry) View() (ps []Process, l Limits, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		all = append(all, p)
	}
	now = r.clock.Now()
	return r.snapshotsAt(all, now), r.limits, now
}

// ByOwner returns owner's processes, sorted by admission time.
func (r *Registry) ByOwner(owner string) []Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.owners[owner]
	if o == nil {
		return nil
	}
	ps := make([]*proc, 0, len(o.procs))
	for _, p := range o.procs {
		ps = append(ps, p)
	}
	return r.snapshots(ps)
}

// snapshots sorts ps (pointers, so sorting moves 8 bytes, not a Process)
// and copies them out as of now. The caller holds r.mu.
func (r *Registry) snapshots(ps []*proc) []Process { return r.snapshotsAt(ps, r.clock.Now()) }

func (r *Registry) snapshotsAt(ps []*proc, now time.Time) []Process {
	slices.SortFunc(ps, func(a, b *proc) int {
		if c := cmp.Compare(a.owner, b.owner); c != 0 {
			return c
		}
		if c := a.admittedAt.Compare(b.admittedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]Process, len(ps))
	for i, p := range ps {
		out[i] = p.snapshot(now, r.owners[p.owner])
	}
	return out
}

// Stats is the registry's load, for /health, metrics and graceful
// degradation. Counts include processes being replaced; the headroom, like
// admission, does not.
type Stats struct {
	ActiveUsers  int // users with at least one process counting against the limits
	Processes    int // every process held
	Replacing    int // of which being stopped because a new run replaced them
	ByKind       map[Kind]int
	ByState      map[State]int
	MemoryBytes  int64 // measured, all processes
	MemoryByKind map[Kind]int64
	Connected    int // users with at least one open connection
	Headroom     Headroom
	Limits       Limits
}

// Headroom is what admission would still allow.
type Headroom struct {
	Processes   int   // more processes on the server
	Users       int   // more users with processes
	MemoryBytes int64 // memory not yet counted for admission (unmeasured processes count at MemoryPerProc)
}

// Stats takes the current figures. Every kind and state is present in the
// maps, with 0 if none, so a metric series never disappears.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{
		ActiveUsers:  r.activeUsers,
		Processes:    len(r.procs),
		ByKind:       map[Kind]int{},
		ByState:      map[State]int{StateStarting: 0, StateRunning: 0, StateWaitingInput: 0, StateIdle: 0},
		MemoryByKind: map[Kind]int64{},
		Limits:       r.limits,
		Headroom: Headroom{
			Processes:   max(r.limits.MaxTotal-r.counted, 0),
			Users:       max(r.limits.MaxActiveUsers-r.activeUsers, 0),
			MemoryBytes: max(r.limits.MemoryTotal-r.charged, 0),
		},
	}
	for _, k := range Kinds() {
		s.ByKind[k], s.MemoryByKind[k] = 0, 0
	}
	for _, p := range r.procs {
		s.ByKind[p.kind]++
		s.ByState[p.state]++
		s.MemoryBytes += p.mem
		s.MemoryByKind[p.kind] += p.mem
		if !p.counted() {
			s.Replacing++
		}
	}
	for _, o := range r.owners {
		if o.conns > 0 {
			s.Connected++
		}
	}
	return s
}
