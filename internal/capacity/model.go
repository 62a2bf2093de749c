// Package capacity answers "how much CPU and memory does a class of N
// need, and which machine fits?" from per-process figures measured on this
// implementation (Measure runs sample student programs through the real
// sandbox and reads their cgroup usage) and stated assumptions about how a
// class behaves at its busiest. It replaces the seed's table, whose figures
// were estimates for the old system.
package capacity

import (
	"math"
)

const MiB = 1 << 20

// Figures are what one student process and the server cost, measured.
type Figures struct {
	StartCPUSeconds    float64 // interpreter and driver start, a trivial script, to the REPL prompt
	ExerciseCPUSeconds float64 // a typical exercise's own CPU time, beyond the start
	StartSeconds       float64 // wall time from spawn to the first prompt
	ScriptPeakBytes    int64   // peak memory of a process running the typical exercise
	REPLIdleBytes      int64   // memory of an interpreter waiting at the prompt after a run
	Source             string  // where the figures come from
	// The server's own share. Not measured by Measure (it runs no server):
	// the Go process's memory with no class, plus what the configured
	// buffers cost per connection and per process.
	ServerBaseBytes    int64   // the server idle: runtime, caches, driver, database pool
	ServerPerUserBytes int64   // session, WebSocket queues and read buffer
	ServerPerProcBytes int64   // the process's replay buffer and pipes
	ServerBaseCores    float64 // sweeps, sampling, probes, idle connections
	ServerPerUserCores float64 // HTTP and WebSocket handling of one busy student (autosave, listing, output relay)
}

// Assumptions describe a class at its busiest; Estimate states them with
// every answer.
type Assumptions struct {
	RunsPerUserPerMinute float64 // how often each student presses Run while iterating
	InterpretersPerUser  float64 // processes per student at the prompt: the last run's REPL stays (until the next run or the idle limit), some open a REPL too
	BurstShare           float64 // share of the class that presses Run together ("now run it")
	BurstSeconds         float64 // within this many seconds
	CPUTarget            float64 // keep CPU under this share (the HighCPU alarm's 80 %)
	MemoryTarget         float64 // keep memory under this share (the HighMemory alarm's 85 %)
}

// DefaultAssumptions are a lively lesson: everyone iterating on an
// exercise, running it twice a minute, and half the class pressing Run
// within ten seconds when the teacher asks.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		RunsPerUserPerMinute: 2, InterpretersPerUser: 1.5, BurstShare: 0.5, BurstSeconds: 10,
		CPUTarget: 0.80, MemoryTarget: 0.85,
	}
}

// Estimate is the answer for one class size.
type Estimate struct {
	Users int

	RunCPUSeconds  float64 // one run: start plus exercise
	SteadyCores    float64 // average CPU at the busiest steady state (before the target)
	BurstCores     float64 // CPU to absorb the burst within its window (before the target)
	Cores          float64 // needed: the larger of the two, over the CPU target
	RunningAtOnce  float64 // processes executing at any instant, on average
	ProcessBytes   int64   // students' processes at the busiest steady state
	ServerBytes    int64   // the server's own share
	MemoryBytes    int64   // needed: both, over the memory target
	WorstCaseBytes int64   // if every admitted process reached its memory limit (limits in force)
}

// Limits are the admission limits that bound the worst case, and the warm
// interpreter pool.
type Limits struct {
	MaxPerUser    int
	MaxTotal      int
	MemoryPerProc int64
	MemoryTotal   int64
	// Warm interpreters wait, one per connected student up to this many,
	// each about an idle interpreter's memory (they run no code, so they
	// cannot grow). Their start CPU is already in every run's: each run
	// takes one and another is started.
	Warm int
}

// Compute estimates what n users need.
func Compute(n int, f Figures, a Assumptions, l Limits) Estimate {
	e := Estimate{Users: n}
	users := float64(n)
	e.RunCPUSeconds = f.StartCPUSeconds + f.ExerciseCPUSeconds
	runsPerSecond := users * a.RunsPerUserPerMinute / 60
	e.SteadyCores = f.ServerBaseCores + users*f.ServerPerUserCores + runsPerSecond*e.RunCPUSeconds
	e.BurstCores = f.ServerBaseCores + users*f.ServerPerUserCores
	if a.BurstSeconds > 0 {
		e.BurstCores += math.Ceil(users*a.BurstShare) * e.RunCPUSeconds / a.BurstSeconds
	}
	e.Cores = max(e.SteadyCores, e.BurstCores) / a.CPUTarget

	// Little's law: runs per second × seconds each run executes.
	runSeconds := f.StartSeconds + f.ExerciseCPUSeconds
	e.RunningAtOnce = runsPerSecond * runSeconds
	idle := users * a.InterpretersPerUser
	warm := float64(min(n, l.Warm))
	e.ProcessBytes = int64((idle+warm)*float64(f.REPLIdleBytes) + e.RunningAtOnce*float64(max(f.ScriptPeakBytes-f.REPLIdleBytes, 0)))
	procs := idle + e.RunningAtOnce
	e.ServerBytes = f.ServerBaseBytes + int64(users*float64(f.ServerPerUserBytes)+procs*float64(f.ServerPerProcBytes))
	e.MemoryBytes = int64(float64(e.ProcessBytes+e.ServerBytes) / a.MemoryTarget)

	admitted := min(n*l.MaxPerUser, l.MaxTotal)
	worst := min(int64(admitted)*l.MemoryPerProc, l.MemoryTotal)
	e.WorstCaseBytes = worst + int64(warm)*f.REPLIdleBytes + f.ServerBaseBytes + int64(n)*f.ServerPerUserBytes + int64(admitted)*f.ServerPerProcBytes
	return e
}
