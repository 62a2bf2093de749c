package registry

import (
	"cmp"
	"slices"
)

// Get returns a snapshot of one process.
func (r *Registry) Get(id string) (Process, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil {
		return Process{}, false
	}
	return p.snapshot(r.clock.Now(), r.connected(p.owner)), true
}

// Snapshot returns every process, sorted by owner, then admission time.
func (r *Registry) Snapshot() []Process {
	r.mu.Lock()
	now := r.clock.Now()
	out := make([]Process, 0, len(r.procs))
	for _, p := range r.procs {
		out = append(out, p.snapshot(now, r.connected(p.owner)))
	}
	r.mu.Unlock()
	sortProcesses(out)
	return out
}

// ByOwner returns owner's processes, sorted by admission time.
func (r *Registry) ByOwner(owner string) []Process {
	r.mu.Lock()
	now := r.clock.Now()
	var out []Process
	if o := r.owners[owner]; o != nil {
		out = make([]Process, 0, len(o.procs))
		for _, p := range o.procs {
			out = append(out, p.snapshot(now, o.conns > 0))
		}
	}
	r.mu.Unlock()
	sortProcesses(out)
	return out
}

func sortProcesses(ps []Process) {
	slices.SortFunc(ps, func(a, b Process) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), a.AdmittedAt.Compare(b.AdmittedAt), cmp.Compare(a.ID, b.ID))
	})
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
		ByKind:       map[Kind]int{KindScript: 0, KindREPL: 0},
		ByState:      map[State]int{StateStarting: 0, StateRunning: 0, StateWaitingInput: 0, StateIdle: 0},
		MemoryByKind: map[Kind]int64{KindScript: 0, KindREPL: 0},
		Limits:       r.limits,
		Headroom: Headroom{
			Processes:   max(r.limits.MaxTotal-r.counted, 0),
			Users:       max(r.limits.MaxActiveUsers-r.activeUsers, 0),
			MemoryBytes: max(r.limits.MemoryTotal-r.charged, 0),
		},
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
