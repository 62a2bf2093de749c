package runner

import (
	"errors"
	"io"
	"os"
	"path"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

// chunk is the most text merged into one stdout/stderr message.
const chunk = 32 << 10

// replaceWait bounds how long a run waits for the run it replaces to end.
const replaceWait = 5 * time.Second

// proc is one running program and the goroutines that serve it.
type proc struct {
	r        *Runner
	id       string // registry id
	owner    string
	user     User
	clientID string
	path     string
	kind     registry.Kind
	stream   *stream
	layout   layout // what the program sees
	warm     *warm  // the warm interpreter this run takes, if any

	events chan interp.Event // from the driver (fd 3) and the raw fds 1 and 2
	lines  chan string       // lines for the driver (fd 4)
	ended  chan struct{}     // closed when the process is gone and its exit sent

	mu      sync.Mutex
	sp      *sandbox.Process
	reason  registry.Reason // set when the server decides to end it
	message string
	ref     string // with reason: the reference the message gives for a failure on the server's side

	// The program's own channel says when it waits (input() or the REPL
	// prompt), and the program can write to that channel itself (fd 3 is
	// open in it), so a claim to wait is checked against its CPU use:
	// waitFrom is when it last went from running to waiting, cpu and cpuAt
	// the previous sample.
	waitFrom time.Time
	runFrom  time.Time // when it last started running (spawned, or given a line)
	cpu      float64
	cpuAt    time.Time
	busy     bool // has computed for a whole sample interval (cpu.go)
}

func newProc(r *Runner, id string, u User, clientID, path string, kind registry.Kind, w *warm) *proc {
	p := &proc{r: r, id: id, owner: u.Name, user: u, clientID: clientID, path: path, kind: kind, warm: w,
		events: make(chan interp.Event, 64), lines: make(chan string, 16), ended: make(chan struct{})}
	if w != nil { // its output already flows into these
		p.events, p.ended = w.events, w.ended
	}
	p.stream = newStream(r.opts.ReplayBytes)
	return p
}

// stop ends the process for reason (the first reason given wins). Safe to
// call at any time, any number of times, before or after the spawn.
func (p *proc) stop(reason registry.Reason, message string) { p.stopFor(reason, message, "") }

// stopFor is stop for a failure on the server's side that ref names (the
// reference the message gives, logged with its cause): the exit carries it,
// and says that trying again may help.
func (p *proc) stopFor(reason registry.Reason, message, ref string) {
	p.mu.Lock()
	if p.reason == "" {
		p.reason, p.message, p.ref = reason, message, ref
	}
	sp := p.sp
	p.mu.Unlock()
	if sp != nil {
		if err := sp.Kill(); err != nil {
			p.r.log.Warn("killing a student process failed", "id", p.id, "owner", p.owner, "err", err)
		}
	}
}

func (p *proc) stopReason() (registry.Reason, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason, p.message
}

// exitMessage is the exit the browser is told of: a stop for a failure on
// the server's side (stopFor) carries its reference and that a retry may help.
func (p *proc) exitMessage(code int, reason registry.Reason, message string) protocol.Message {
	m := protocol.Message{Type: protocol.MsgExit, ID: p.clientID, Code: code, Reason: string(reason), Message: message}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ref != "" && reason == p.reason {
		retry := true
		m.Ref, m.Retry = p.ref, &retry
	}
	return m
}

// input queues a line for the program without ever blocking the caller.
func (p *proc) input(data string) error {
	select {
	case p.lines <- data:
		p.mu.Lock()
		p.waitFrom, p.runFrom = time.Time{}, time.Now()
		p.mu.Unlock()
		p.r.reg.SetState(p.id, registry.StateRunning)
		return nil
	case <-p.ended:
		return errNotRunning
	default:
		return fault.New(ErrNotReading, "Your program is not reading its input yet; wait for it to ask.")
	}
}

func (p *proc) sample() {
	p.mu.Lock()
	sp := p.sp
	p.mu.Unlock()
	if sp == nil {
		return
	}
	if mem, cpu, err := sp.Usage(); err == nil {
		now := time.Now()
		p.r.reg.Sample(p.id, mem, cpu)
		if p.computing(cpu, now) {
			// A program that has computed for a whole sample interval gives
			// way to programs just starting and to interactive ones.
			if err := sp.Background(); err != nil {
				p.r.log.Debug("lowering a busy program's priority failed", "id", p.id, "err", err)
			}
			p.mu.Lock()
			first := !p.busy
			p.busy = true
			p.mu.Unlock()
			if first {
				p.r.reweigh(p.owner)
			}
		}
		p.checkWaiting(cpu, now)
	}
}

// computing reports whether the program has run since before the previous
// sample without once saying it waits, computing all along (more than a
// hundredth of a core: so a busy loop counts even when a crowded machine
// gives it little, and a program asleep in time.sleep does not).
func (p *proc) computing(cpu float64, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.cpuAt.IsZero() && p.waitFrom.IsZero() && !p.runFrom.After(p.cpuAt) &&
		cpu-p.cpu > now.Sub(p.cpuAt).Seconds()/100
}

// waiting records that the program says it waits for a line.
func (p *proc) waiting(now time.Time) {
	p.mu.Lock()
	if p.waitFrom.IsZero() {
		p.waitFrom = now
	}
	p.mu.Unlock()
}

// checkWaiting puts a program that claims to wait but used more than a tenth
// of a core (low, so a busy loop on a crowded machine is still caught) over
// a whole sample interval since the claim back to running, so its
// time counts against the wall clock again (a forged input event followed by
// a busy loop would otherwise never time out). A truly waiting interpreter
// uses next to no CPU.
func (p *proc) checkWaiting(cpu float64, now time.Time) {
	p.mu.Lock()
	prevCPU, prevAt, from := p.cpu, p.cpuAt, p.waitFrom
	p.cpu, p.cpuAt = cpu, now
	busy := !prevAt.IsZero() && !from.IsZero() && !from.After(prevAt) && cpu-prevCPU > now.Sub(prevAt).Seconds()/10
	if busy {
		p.waitFrom = time.Time{}
	}
	p.mu.Unlock()
	if busy {
		p.r.reg.SetState(p.id, registry.StateRunning)
	}
}

// life spawns the process, serves it, and reports its end, in four named
// phases; it runs in its own goroutine and always ends with cleanup, which
// unregisters the process.
//
// A run that replaces another waits (at most replaceWait) for it to be gone
// before spawning, and does not spawn at all if it was itself replaced
// meanwhile: replaced runs stop counting against the limits at once, so a
// burst of clicks on Run must not leave a sandbox per click starting.
func (p *proc) life(run workspace.Runnable, began time.Time, replaces *proc) {
	defer p.cleanup()
	if !p.await(replaces) {
		return
	}
	in, ok := p.spawn(run, began)
	if !ok {
		return
	}
	p.finish(p.serve(in))
}

// cleanup is life's one way out: the process leaves the registry, its
// message log is closed, the runner forgets it, and whoever waits on ended
// is released — in that order, each after the one before.
func (p *proc) cleanup() {
	r := p.r
	r.reg.Remove(p.id)
	if c := r.opts.Cluster; c != nil {
		go c.Ended(p.id)
	}
	if r.changed != nil {
		r.changed(p.owner)
	}
	p.stream.finish()
	r.forget(p)
	r.reweigh(p.owner) // the others share the weight again
	close(p.ended)
}

// await waits for the run this one replaces, and reports whether to go on:
// a run stopped before its spawn (replaced, swept, shut down) ends here.
func (p *proc) await(replaces *proc) bool {
	if replaces != nil {
		select {
		case <-replaces.ended:
		case <-time.After(replaceWait):
		}
	}
	reason, message := p.stopReason()
	if reason == "" {
		return true
	}
	if p.warm != nil {
		p.warm.discard()
	}
	if message == "" {
		message = reason.Message(p.r.reg.Limits())
	}
	p.stream.emit(p.exitMessage(-1, reason, message))
	if p.r.opts.Observe != nil {
		p.r.opts.Observe.Ended(p.kind, reason)
	}
	return false
}

// spawn gives the run its interpreter, tells the registry and the browser
// it started, and reports whether it did.
func (p *proc) spawn(run workspace.Runnable, began time.Time) (*interpreter, bool) {
	r := p.r
	in, err := p.interpreter(run)
	if err != nil {
		f := r.startFailed(err, "spawning a student process failed", "id", p.id, "owner", p.owner, "path", p.path)
		p.stream.emit(protocol.Message{Type: protocol.MsgError, ID: p.clientID, Code: protocol.CodeUnavailable, Message: f.Message, Ref: f.Ref, Retry: &f.Retry})
		return nil, false
	}
	if err := r.reg.Started(p.id, in.sp.PID(), in.sp.StartTime()); err != nil {
		// Replaced or swept between admission and spawn.
		p.stop(registry.ReasonStopped, "")
	}
	p.mu.Lock()
	p.sp, p.runFrom = in.sp, time.Now()
	pending := p.reason != ""
	p.mu.Unlock()
	if pending {
		in.sp.Kill()
	}
	if r.opts.Observe != nil {
		r.opts.Observe.Started(p.kind, time.Since(began))
	}
	r.reweigh(p.owner)
	if r.changed != nil {
		r.changed(p.owner)
	}
	p.stream.emit(protocol.Message{Type: protocol.MsgStarted, ID: p.clientID, Kind: string(p.kind), Paths: p.layout.paths})
	return in, true
}

// serve relays the program's events, feeds its input and samples it until
// it ends, and returns how it ended once everything it wrote is relayed.
func (p *proc) serve(in *interpreter) sandbox.Exit {
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { defer readers.Done(); p.readEvents(in.rd) }()
	go p.feed(in.cmdW)
	forwarded := make(chan struct{})
	sourcesDone := make(chan struct{})
	go func() { defer close(forwarded); p.forward(sourcesDone) }()
	stopSampling := make(chan struct{})
	go p.sampleLoop(stopSampling)

	exit := in.sp.Wait()
	close(stopSampling)
	// Output already written is still relayed; a descendant that escaped
	// the kill (only possible without cgroups) cannot hold the channel open.
	readDone := make(chan struct{})
	go func() { readers.Wait(); close(readDone) }()
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
		in.evR.Close()
		<-readDone
	}
	in.evR.Close()
	close(sourcesDone)
	<-forwarded
	return exit
}

// finish tells the browser and the metrics how the program ended.
func (p *proc) finish(exit sandbox.Exit) {
	r := p.r
	reason, message := p.stopReason()
	reason = exitReason(reason, exit)
	if message == "" {
		message = reason.Message(r.reg.Limits())
	}
	p.stream.emit(p.exitMessage(exit.Code, reason, message))
	if r.opts.Observe != nil {
		r.opts.Observe.Ended(p.kind, reason)
	}
	r.log.Debug("program ended", "id", p.id, "owner", p.owner, "path", p.path, "reason", reason, "code", exit.Code, "signal", exit.Signal)
}

// exitReason combines what the server decided with what the sandbox saw:
// a kernel-enforced limit explains an end better than the stop that came
// after it.
func exitReason(decided registry.Reason, exit sandbox.Exit) registry.Reason {
	switch exit.Reason {
	case sandbox.ReasonMemory:
		return registry.ReasonMemoryLimit
	case sandbox.ReasonCPU:
		return registry.ReasonCPULimit
	}
	if decided != "" {
		return decided
	}
	if exit.Reason == sandbox.ReasonExited {
		return registry.ReasonExited
	}
	return registry.ReasonError
}

// interpreter is one started interpreter with its driver's channel: the
// events it sends (fd 3, read through rd) and the lines it reads (fd 4).
type interpreter struct {
	sp   *sandbox.Process
	evR  *os.File       // fd 3's read end
	rd   *interp.Reader // reads evR
	cmdW *os.File       // fd 4's write end
}

// interpreter gives the run its interpreter: the warm one it took, told
// what to run, or a new one.
func (p *proc) interpreter(run workspace.Runnable) (*interpreter, error) {
	script := ""
	if run.File != "" {
		script = p.layout.inside(run.File)
	}
	w := p.warm
	if w == nil {
		dir := HomeAt
		if script != "" {
			dir = path.Dir(script)
		}
		return p.r.spawnInterpreter(sandbox.Spec{
			ID: p.id, Args: interp.Args(p.layout.inside(p.r.opts.DriverPath), script), Dir: dir,
		}, p.layout, p.events, p.ended)
	}
	if err := w.claim(script); err != nil {
		w.discard()
		return nil, err
	}
	return w.interpreter, nil
}

// spawnInterpreter starts spec (ID, Args, Dir and Nice given) with l's
// mounts, the driver's environment and the two channel pipes: fd 3 carries
// events out, fd 4 carries lines in. Raw output on fds 1 and 2 goes into
// events until ended is closed.
func (r *Runner) spawnInterpreter(spec sandbox.Spec, l layout, events chan<- interp.Event, ended <-chan struct{}) (*interpreter, error) {
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		evR.Close()
		evW.Close()
		return nil, err
	}
	spec.Mounts, spec.NoLinks = l.mounts, l.noLinks
	spec.Env = interp.Env("HOME="+l.inside(l.home), "MPLCONFIGDIR=/tmp/matplotlib")
	spec.Stdout = &rawWriter{events: events, ended: ended, typ: interp.TypeStdout}
	spec.Stderr = &rawWriter{events: events, ended: ended, typ: interp.TypeStderr}
	spec.ExtraFiles = []*os.File{evW, cmdR}
	sp, err := r.sb.Start(spec)
	evW.Close()
	cmdR.Close()
	if err != nil {
		evR.Close()
		cmdW.Close()
		return nil, err
	}
	return &interpreter{sp: sp, evR: evR, rd: interp.NewReader(evR, r.opts.MaxFrame), cmdW: cmdW}, nil
}

// readEvents pumps the driver's events into p.events.
func (p *proc) readEvents(rd *interp.Reader) {
	for {
		ev, err := rd.Next()
		if err != nil {
			if errors.Is(err, interp.ErrFrameTooLarge) || errors.Is(err, interp.ErrMalformed) {
				continue
			}
			return
		}
		select {
		case p.events <- ev:
		case <-p.ended:
			return
		}
	}
}

// rawWriter turns bytes written straight to fd 1 or 2 (C code, child
// processes) into events, in the same stream as the driver's.
type rawWriter struct {
	events chan<- interp.Event
	ended  <-chan struct{}
	typ    string
}

func (w *rawWriter) Write(b []byte) (int, error) {
	select {
	case w.events <- interp.Event{Type: w.typ, Data: string(b)}:
		return len(b), nil
	case <-w.ended:
		return 0, io.ErrClosedPipe
	}
}

// feed writes queued lines to the driver; a full pipe blocks only this goroutine.
func (p *proc) feed(cmdW *os.File) {
	defer cmdW.Close()
	w := interp.NewWriter(cmdW)
	for {
		select {
		case line := <-p.lines:
			if err := w.Line(line); err != nil {
				return
			}
			p.r.reg.Activity(p.id)
		case <-p.ended:
			return
		}
	}
}

func (p *proc) sampleLoop(stop <-chan struct{}) {
	t := time.NewTicker(p.r.opts.SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.sample()
		}
	}
}

// forward turns events into messages, merging runs of text, spending the
// output budget, and keeping the registry's state current. It returns once
// sourcesDone is closed and every queued event is sent.
func (p *proc) forward(sourcesDone <-chan struct{}) {
	budget := newOutputBudget(p.r.opts.OutputBytes, p.r.opts.OutputRate, p.r.opts.OutputBurst, time.Now())
	over := false
	var pending *protocol.Message
	flush := func() {
		if pending != nil {
			p.stream.emit(*pending)
			pending = nil
		}
	}
	handle := func(ev interp.Event) {
		if over {
			return
		}
		if !budget.spend(len(ev.Data)+len(ev.Prompt), time.Now()) {
			over = true
			flush()
			p.stop(registry.ReasonOutputLimit, "")
			return
		}
		switch ev.Type {
		case interp.TypeStdout, interp.TypeStderr:
			p.r.reg.Activity(p.id)
			if pending != nil && (pending.Type != ev.Type || len(pending.Data)+len(ev.Data) > chunk) {
				flush()
			}
			if pending == nil {
				pending = &protocol.Message{Type: ev.Type, ID: p.clientID}
			}
			pending.Data += ev.Data
			return
		}
		flush()
		switch ev.Type {
		case interp.TypeInput:
			p.waiting(time.Now())
			p.r.reg.SetState(p.id, registry.StateWaitingInput)
			p.stream.emit(protocol.Message{Type: protocol.MsgInputRequest, ID: p.clientID, Prompt: strptr(ev.Prompt)})
		case interp.TypeREPLReady:
			p.waiting(time.Now())
			p.r.reg.SetState(p.id, registry.StateIdle)
			p.stream.emit(protocol.Message{Type: protocol.MsgREPLReady, ID: p.clientID, Prompt: strptr(ev.Prompt)})
		case interp.TypeFigure:
			p.r.reg.Activity(p.id)
			p.stream.emit(protocol.Message{Type: protocol.MsgFigure, ID: p.clientID, Mime: ev.Mime, Data: ev.Data})
		}
	}
	for {
		select {
		case ev := <-p.events:
			handle(ev)
			// Merge whatever else is already queued before sending.
			for more := true; more; {
				select {
				case ev := <-p.events:
					handle(ev)
				default:
					more = false
				}
			}
			flush()
		case <-sourcesDone:
			for {
				select {
				case ev := <-p.events:
					handle(ev)
				default:
					flush()
					return
				}
			}
		}
	}
}
