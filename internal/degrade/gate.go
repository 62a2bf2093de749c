// Package degrade is graceful degradation at the door of every new run: the
// gate that refuses new programs while the server's memory is over its line
// and queues them while its CPU is, fed by the monitor's readings. It is the
// same lines as the CPU and memory alarms.
package degrade

import (
	"errors"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// The causes inside a Gate refusal, so metrics can tell them apart with
// errors.Is.
var (
	ErrShedMemory = errors.New("degrade: memory over the degradation line")
	ErrShedCPU    = errors.New("degrade: CPU over the degradation line")
)

// Options are the degradation lines and the CPU queue's shape.
type Options struct {
	MemoryPercent float64       // at or over this, new runs are refused; default 85; negative: never
	CPUPercent    float64       // at or over this, new runs wait in the queue; default 80; negative: never
	Wait          time.Duration // longest wait in the CPU queue before a refusal; default 5 s
	MaxWaiting    int           // runs that may wait at once; more are refused at once; default 64
	// Spacing is the pause between two runs let through the queue, so a
	// backlog released together does not push the CPU straight back over.
	Spacing time.Duration // default 100 ms
	// StaleAfter: a reading older than this is ignored (the sampler stopped),
	// so the gate can never shut the class out on old news. Default 30 s.
	StaleAfter time.Duration
	Now        func() time.Time
}

// Defaults fills the zero fields with the defaults.
func (o *Options) Defaults() {
	if o.MemoryPercent == 0 {
		o.MemoryPercent = 85
	}
	if o.CPUPercent == 0 {
		o.CPUPercent = 80
	}
	if o.Wait == 0 {
		o.Wait = 5 * time.Second
	}
	if o.MaxWaiting == 0 {
		o.MaxWaiting = 64
	}
	if o.Spacing == 0 {
		o.Spacing = 100 * time.Millisecond
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Gate is graceful degradation at the door of every new run. Over the
// memory line a run is refused at once (running programs go on: stopping
// them would lose students' work, and the kernel's per-program limits still
// hold). Over the CPU line a run waits in a first-come-first-served queue
// and is let through, one at a time, once the CPU is back under the line;
// after Wait it is refused. Refusals are fault.Errors of kind ErrShedMemory
// or ErrShedCPU (the API says "unavailable") with a plain
// message.
type Gate struct {
	opts Options

	mu          sync.Mutex
	usage       Reading
	queue       []*waiter
	dispatching bool
	wake        chan struct{} // a new reading arrived
	refused     map[error]int64
	waited      int64 // runs that waited and were let through
}

type waiter struct {
	ch       chan struct{}
	released bool
}

// State is what /health and the metrics show of the gate.
type State struct {
	Shedding      string  `json:"shedding"` // "none", "memory" (refusing) or "cpu" (queueing)
	Waiting       int     `json:"waiting"`
	MemoryLine    float64 `json:"memory_line_percent"`
	CPULine       float64 `json:"cpu_line_percent"`
	QueueWaitSecs float64 `json:"queue_wait_seconds"`
	RefusedMemory int64   `json:"refused_memory"`
	RefusedCPU    int64   `json:"refused_cpu"`
	WaitedThenRan int64   `json:"waited_then_ran"`
}

// Reading is what the gate needs of a resource reading.
type Reading struct {
	At            time.Time
	MemoryPercent float64
	MemoryLimit   int64 // 0: unknown, so never over the line
	CPUPercent    float64
	CPUKnown      bool // false until two CPU readings exist
}

// New makes a gate that lets everything through until its first reading.
func New(o Options) *Gate {
	o.Defaults()
	return &Gate{opts: o, wake: make(chan struct{}, 1), refused: map[error]int64{}}
}

// Update gives the gate a new reading.
func (g *Gate) Update(u Reading) {
	g.mu.Lock()
	g.usage = u
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// over says which line the latest reading is over; the caller holds g.mu.
func (g *Gate) over() (memory, cpu bool) {
	u := g.usage
	if u.At.IsZero() || g.opts.Now().Sub(u.At) > g.opts.StaleAfter {
		return false, false
	}
	return g.opts.MemoryPercent > 0 && u.MemoryLimit > 0 && u.MemoryPercent >= g.opts.MemoryPercent,
		g.opts.CPUPercent > 0 && u.CPUKnown && u.CPUPercent >= g.opts.CPUPercent
}

func (g *Gate) refuse(cause error) error {
	g.refused[cause]++
	if cause == ErrShedMemory {
		return fault.New(cause,
			"The server is short of memory right now, so new programs cannot start. Programs already running go on. Please try again in a minute.")
	}
	return fault.New(cause,
		"The server is very busy right now, so your program could not start. Please try again in a minute.")
}

// Check is called before a run is admitted; nil lets it go on. It may block
// for up to Wait while the CPU is over the line.
func (g *Gate) Check() error {
	g.mu.Lock()
	mem, cpu := g.over()
	if mem {
		err := g.refuse(ErrShedMemory)
		g.mu.Unlock()
		return err
	}
	// Someone already waiting goes first, even if the CPU just came back.
	if !cpu && len(g.queue) == 0 {
		g.mu.Unlock()
		return nil
	}
	if len(g.queue) >= g.opts.MaxWaiting {
		err := g.refuse(ErrShedCPU)
		g.mu.Unlock()
		return err
	}
	w := &waiter{ch: make(chan struct{})}
	g.queue = append(g.queue, w)
	if !g.dispatching {
		g.dispatching = true
		go g.dispatch()
	}
	g.mu.Unlock()

	t := time.NewTimer(g.opts.Wait)
	defer t.Stop()
	select {
	case <-w.ch:
		return nil
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.released { // let through just as the timer fired
		return nil
	}
	for i, q := range g.queue {
		if q == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	return g.refuse(ErrShedCPU)
}

// dispatch lets the queue's head through while the CPU is under the line,
// one every Spacing; it ends when the queue is empty.
func (g *Gate) dispatch() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.dispatching = false
			g.mu.Unlock()
			return
		}
		released := false
		if mem, cpu := g.over(); !mem && !cpu {
			w := g.queue[0]
			g.queue = g.queue[1:]
			w.released = true
			g.waited++
			close(w.ch)
			released = true
		}
		g.mu.Unlock()
		if released {
			time.Sleep(g.opts.Spacing)
			continue
		}
		// Still over: wait for the next reading (or re-check after a
		// while, in case readings stopped and the last one goes stale).
		select {
		case <-g.wake:
		case <-time.After(g.opts.Spacing * 10):
		}
	}
}

// State is the gate's current state.
func (g *Gate) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := State{
		Shedding: "none", Waiting: len(g.queue), MemoryLine: g.opts.MemoryPercent, CPULine: g.opts.CPUPercent,
		QueueWaitSecs: g.opts.Wait.Seconds(), RefusedMemory: g.refused[ErrShedMemory], RefusedCPU: g.refused[ErrShedCPU],
		WaitedThenRan: g.waited,
	}
	switch mem, cpu := g.over(); {
	case mem:
		s.Shedding = "memory"
	case cpu || len(g.queue) > 0:
		s.Shedding = "cpu"
	}
	return s
}
