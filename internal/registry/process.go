package registry

import "time"

// Kind is what a process was started as; the strings are the wire values.
type Kind string

const (
	KindScript Kind = "script"
	KindREPL   Kind = "repl"
	// KindTest is a teacher's test file run against a submission
	// (assignments): admitted, counted and reaped like a run.
	KindTest Kind = "test"
)

func (k Kind) valid() bool { return k == KindScript || k == KindREPL || k == KindTest }

// Kinds lists every kind, so a metric or a record can have one series each
// from the start.
func Kinds() []Kind { return []Kind{KindScript, KindREPL, KindTest} }

// State is what a process is doing; the strings are the wire values.
type State string

const (
	StateStarting     State = "starting"      // admitted, not yet spawned
	StateRunning      State = "running"       // executing code
	StateWaitingInput State = "waiting_input" // blocked in input()
	StateIdle         State = "idle"          // the REPL waits for a line
)

// waiting reports whether time in s is excluded from the wall-clock limit:
// a student reading a prompt or thinking at the REPL is not the program running.
func (s State) waiting() bool { return s == StateWaitingInput || s == StateIdle }

// Process is a copy of one registry entry as of the moment it was taken.
// Changing it changes nothing in the registry.
type Process struct {
	ID    string
	Owner string
	Path  string // workspace path; "" for a bare REPL
	// Kind starts as requested; a script whose process reaches the REPL
	// prompt becomes a repl, keeping Path so that running the file again
	// replaces it.
	Kind  Kind
	State State

	PID      int    // 0 until Started
	PIDStart uint64 // the pid's start time, so a reused pid is never mistaken for this one

	AdmittedAt   time.Time
	StartedAt    time.Time // zero until Started
	StateSince   time.Time // when State last changed
	LastActivity time.Time // last output, input, CPU progress or state change

	MemoryBytes int64   // last sample
	CPUSeconds  float64 // last sample
	Sampled     bool    // at least one sample arrived

	RunTime  time.Duration // time spent running: what the wall-clock limit counts
	WaitTime time.Duration // time spent in input() or at the REPL prompt

	OwnerConnected bool
	// OwnerAwaySince is when the owner was last seen without a connection
	// (their last one closed, or a process was admitted while none was
	// open); meaningful only while !OwnerConnected.
	OwnerAwaySince time.Time
	// ReplacedBy is the id of the run that replaces this one; such a process
	// is being stopped and no longer counts against any limit.
	ReplacedBy string
}

// Charge is what p counts for in memory admission under l: nothing once
// replaced, its full allowance until it is measured, then what it uses.
func (p Process) Charge(l Limits) int64 {
	return charge(p.ReplacedBy == "", p.Sampled, p.MemoryBytes, l)
}

func charge(counted, sampled bool, mem int64, l Limits) int64 {
	switch {
	case !counted:
		return 0
	case !sampled:
		return l.MemoryPerProc
	default:
		return mem
	}
}

// proc is the registry's own record; the timers are kept as accumulated
// durations plus the start of the current state, so a snapshot is exact at
// any instant without the registry ticking.
type proc struct {
	id, owner, path string
	kind            Kind
	state           State
	pid             int
	pidStart        uint64

	admittedAt, startedAt, stateSince, lastActivity time.Time

	mem     int64
	cpu     float64
	sampled bool

	runAccum, waitAccum time.Duration

	replacedBy string
	charged    int64 // what this process counts for in Registry.charged
}

// counted reports whether the process counts against the limits.
func (p *proc) counted() bool { return p.replacedBy == "" }

func (p *proc) runTime(now time.Time) time.Duration {
	if p.state == StateRunning {
		return p.runAccum + now.Sub(p.stateSince)
	}
	return p.runAccum
}

func (p *proc) waitTime(now time.Time) time.Duration {
	if p.state.waiting() {
		return p.waitAccum + now.Sub(p.stateSince)
	}
	return p.waitAccum
}

// setState closes the current state's stretch into its accumulator.
func (p *proc) setState(s State, now time.Time) {
	switch {
	case p.state == StateRunning:
		p.runAccum += now.Sub(p.stateSince)
	case p.state.waiting():
		p.waitAccum += now.Sub(p.stateSince)
	}
	p.state = s
	p.stateSince = now
}

func (p *proc) snapshot(now time.Time, o *owner) Process {
	connected := o != nil && o.conns > 0
	var away time.Time
	if o != nil && !connected {
		away = o.since
	}
	return Process{
		ID: p.id, Owner: p.owner, Path: p.path, Kind: p.kind, State: p.state,
		PID: p.pid, PIDStart: p.pidStart,
		AdmittedAt: p.admittedAt, StartedAt: p.startedAt, StateSince: p.stateSince, LastActivity: p.lastActivity,
		MemoryBytes: p.mem, CPUSeconds: p.cpu, Sampled: p.sampled,
		RunTime: p.runTime(now), WaitTime: p.waitTime(now),
		OwnerConnected: connected, OwnerAwaySince: away, ReplacedBy: p.replacedBy,
	}
}
