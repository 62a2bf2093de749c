// Package runner runs students' programs: it asks the registry to admit a
// run, has the sandbox spawn it with the interp driver inside, relays the
// driver's events to the browser in order, feeds input, enforces the output
// budget, and reports every end with its reason. It is the only package that
// both holds sandboxed processes and talks to the registry about them.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Options are the runner's own limits.
type Options struct {
	DriverDir   string // where interp.Install put the driver (made visible read-only to every run)
	DriverPath  string
	OutputBytes int64         // most output one run may print; default 2 MiB
	OutputRate  int64         // sustained bytes per second; default 256 KiB/s
	OutputBurst int64         // bytes that may come at once; default 1 MiB
	ReplayBytes int           // recent messages kept per process for re-attaching; default 256 KiB
	SampleEvery time.Duration // how often memory and CPU are read; default 1 s
	MaxFrame    int           // largest driver event (a figure); default 8 MiB
	// QuotaEvery is how often the homes of owners with running programs are
	// measured against the workspace's quota (quota.go); default 250 ms.
	QuotaEvery time.Duration
	// WarmGrace is how long a warm interpreter outlives its owner's last
	// connection, so a page reload finds it; default 5 s, negative: none.
	WarmGrace time.Duration
	// Warm is how many warm interpreters (started ahead of need, one per
	// connected user at most) may wait at once; 0 starts every run cold.
	Warm int
	// Observe, when set, is told of each start (with its latency) and end.
	Observe Observer
	// Cluster, when set, is the class served by several instances
	// (internal/cluster): a run is admitted against the class's limits as
	// well as this instance's, and forgotten there when it ends.
	Cluster Cluster
	// Gate, when set, is asked before every run is admitted (graceful
	// degradation: refuse or briefly queue new runs while the server is
	// short of memory or CPU). Its error refuses the run; it may block.
	Gate Gate
	// ScratchDir holds the scratch homes of test runs (RunTests); "" turns
	// test runs off.
	ScratchDir string
}

// Cluster admits runs for the whole class and forgets them when they end.
type Cluster interface {
	Admit(ctx context.Context, req registry.Request, l registry.Limits) error
	Ended(id string)
}

// Gate decides whether a new run may go on to admission.
type Gate interface {
	Check() error
}

// Observer receives the runner's events for metrics.
type Observer interface {
	Started(kind registry.Kind, took time.Duration)
	Ended(kind registry.Kind, reason registry.Reason)
	Refused(err error)
}

func (o *Options) defaults() {
	if o.OutputBytes == 0 {
		o.OutputBytes = 2 << 20
	}
	if o.OutputRate == 0 {
		o.OutputRate = 256 << 10
	}
	if o.OutputBurst == 0 {
		o.OutputBurst = 1 << 20
	}
	if o.ReplayBytes == 0 {
		o.ReplayBytes = 256 << 10
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = time.Second
	}
	if o.WarmGrace == 0 {
		o.WarmGrace = 5 * time.Second
	}
	if o.QuotaEvery == 0 {
		o.QuotaEvery = 250 * time.Millisecond
	}
}

// User is who asks for a run.
type User struct {
	Name      string
	Professor bool
	// Limits, when set, narrow what u's programs see and which files they
	// may run (an exam: internal/exam): with a fence, the fence folder is
	// their home and nothing else of the home is there (layout).
	Limits *workspace.Limits
}

// actor is u as the workspace knows them.
func (u User) actor() workspace.Actor {
	return workspace.Actor{Username: u.Name, Professor: u.Professor, Limits: u.Limits}
}

// Runner holds every running program of this server.
type Runner struct {
	reg  *registry.Registry
	sb   *sandbox.Sandbox
	ws   *workspace.Workspace
	opts Options
	log  *slog.Logger
	// changed, when set, is told an owner's processes changed (session tracking).
	changed func(owner string)

	mu       sync.Mutex
	procs    map[string]*proc            // by registry id
	byClient map[clientKey]*proc         // by the browser's id
	tests    map[string]*sandbox.Process // test runs (grade.go), by registry id
	// ended keeps the message logs of recently ended processes, so a browser
	// that comes back after its program ended still learns how it ended.
	ended    map[clientKey]endedLog
	pool     pool
	quit     chan struct{} // closed by Shutdown: ends the quota watch
	closing  bool
	draining bool       // Drain: no new runs
	weighMu  sync.Mutex // serialises reweigh (cpu.go)
	// selfTested is the start-up self-test's result (selftest.go).
	selfTested *SelfTestResult
	wg         sync.WaitGroup
}

type clientKey struct{ owner, id string }

// New makes a runner.
func New(reg *registry.Registry, sb *sandbox.Sandbox, ws *workspace.Workspace, opts Options, log *slog.Logger, changed func(owner string)) *Runner {
	opts.defaults()
	r := &Runner{reg: reg, sb: sb, ws: ws, opts: opts, log: log, changed: changed,
		procs: map[string]*proc{}, byClient: map[clientKey]*proc{}, tests: map[string]*sandbox.Process{}, ended: map[clientKey]endedLog{},
		pool: pool{ready: map[string]*warm{}, starting: map[string]*pending{}, conns: map[string]int{}, left: map[string]time.Time{}, student: map[string]string{}},
		quit: make(chan struct{})}
	go r.watchQuotas(r.quit)
	return r
}

// Registry is the registry the runner admits through (read-only use by others).
func (r *Runner) Registry() *registry.Registry { return r.reg }

// Layers reports the sandbox's active confinement layers, so callers (tests,
// /health) can tell which limits the kernel enforces on this machine.
func (r *Runner) Layers() sandbox.Layers { return r.sb.Layers() }

var errNotRunning = fault.New(ErrNotRunning, "That program is not running any more.")

func validClientID(id string) error {
	if id == "" || len(id) > 128 {
		return fault.New(ErrInvalid, "Every run needs an id of 1 to 128 characters.")
	}
	return nil
}

func newRegistryID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "p" + hex.EncodeToString(b[:])
}

// Run starts the file at path for u and subscribes sink to its messages. A
// file that already runs for u is stopped and replaced.
func (r *Runner) Run(u User, clientID, path string, sink Sink) (*Subscription, error) {
	if err := validClientID(clientID); err != nil {
		return nil, err
	}
	run, err := r.ws.Runnable(u.actor(), path)
	if err != nil {
		return nil, err
	}
	return r.start(u, clientID, path, registry.KindScript, run, sink)
}

// REPL starts an empty REPL in u's home and subscribes sink to it.
func (r *Runner) REPL(u User, clientID string, sink Sink) (*Subscription, error) {
	if err := validClientID(clientID); err != nil {
		return nil, err
	}
	return r.start(u, clientID, "", registry.KindREPL, workspace.Runnable{}, sink)
}

func (r *Runner) start(u User, clientID, path string, kind registry.Kind, run workspace.Runnable, sink Sink) (*Subscription, error) {
	if r.opts.Gate != nil {
		// Outside r.mu: the gate may hold this run in its queue.
		if err := r.opts.Gate.Check(); err != nil {
			if r.opts.Observe != nil {
				r.opts.Observe.Refused(err)
			}
			return nil, err
		}
	}
	began := time.Now()
	l, err := r.layout(u, run.InHome) // run.InHome: a teacher may run a student's file
	if errors.Is(err, workspace.ErrNotFound) || errors.Is(err, workspace.ErrDenied) {
		return nil, err // an exam's folder that is not there (yet), or is no folder: the student's to hear
	}
	if err != nil {
		return nil, r.startFailed(err, "preparing a student's run failed", "owner", u.Name, "path", path).refusal()
	}
	key := clientKey{u.Name, clientID}
	r.mu.Lock()
	if err := r.mayStart(key); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.pool.student[u.Name] = run.InHome // the next warm interpreter sees what this run sees
	w := r.takeWarm(u.Name, l)
	if w == nil && r.awaitWarm(u.Name) {
		// The student's warm interpreter was still starting: it is nearer
		// than a cold start.
		if err := r.mayStart(key); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		w = r.takeWarm(u.Name, l)
	}
	id := newRegistryID()
	if w != nil {
		id = w.id // it names the cgroup the interpreter already runs in
	}
	req := registry.Request{ID: id, Owner: u.Name, Path: path, Kind: kind}
	refused := func(err error) (*Subscription, error) {
		r.putBackWarm(w)
		r.mu.Unlock()
		if r.opts.Observe != nil {
			r.opts.Observe.Refused(err)
		}
		return nil, err
	}
	if c := r.opts.Cluster; c != nil {
		// The class's limits, across every instance: one transaction in the
		// shared database (a few milliseconds; bounded), outside r.mu so
		// no other program waits for it.
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Admit(ctx, req, r.reg.Limits())
		cancel()
		r.mu.Lock()
		if err == nil {
			if err = r.mayStart(key); err != nil {
				go c.Ended(id)
			}
		}
		if err != nil {
			return refused(err)
		}
	}
	replaced, err := r.reg.Admit(req)
	if err != nil {
		if c := r.opts.Cluster; c != nil {
			go c.Ended(id)
		}
		return refused(err)
	}
	p := newProc(r, id, u, clientID, path, kind, w)
	p.layout = l
	sub := p.stream.subscribe(sink, clientID, 0)
	delete(r.ended, key)
	r.procs[id] = p
	r.byClient[key] = p
	var old *proc
	if replaced != nil {
		old = r.procs[replaced.ID]
	}
	r.wg.Add(1)
	r.mu.Unlock()

	if old != nil {
		old.stop(registry.ReasonStopped, "Stopped: you ran this file again.")
	}
	go func() {
		defer r.wg.Done()
		p.life(run, began, old)
	}()
	r.warmUp(u) // for the next run
	return sub, nil
}

// mayStart says why a run with key may not start now, if it may not; the
// caller holds r.mu.
func (r *Runner) mayStart(key clientKey) error {
	switch { // a drain ends in a shutdown: it says why
	case r.draining:
		return fault.New(ErrUnavailable, "This server is being replaced, so new programs cannot start on it. Your running programs go on; reload the page once they have ended to carry on with another server.")
	case r.closing:
		return fault.New(ErrClosing, "The server is restarting. Please try again in a moment.")
	}
	if _, busy := r.byClient[key]; busy {
		return fault.New(ErrInvalid, "A program with this id is already running; stop it first or use a new id.")
	}
	return nil
}

// Stdin sends a line (or a block of lines) to a program's input() or REPL.
func (r *Runner) Stdin(owner, clientID, data string) error {
	p := r.lookup(owner, clientID)
	if p == nil {
		return errNotRunning
	}
	return p.input(data)
}

// Stop ends a program at its owner's request.
func (r *Runner) Stop(owner, clientID string) error {
	p := r.lookup(owner, clientID)
	if p == nil {
		return errNotRunning
	}
	p.stop(registry.ReasonStopped, "")
	return nil
}

// Attach subscribes sink to a program's messages after seq since: those
// still kept, then the live ones. A program that ended recently can still
// be attached to, to learn how it ended.
func (r *Runner) Attach(owner, clientID string, since uint64, sink Sink) (*Subscription, error) {
	key := clientKey{owner, clientID}
	r.mu.Lock()
	var st *stream
	if p := r.byClient[key]; p != nil {
		st = p.stream
	} else if e, ok := r.ended[key]; ok {
		st = e.stream
	}
	r.mu.Unlock()
	if st == nil {
		return nil, errNotRunning
	}
	return st.subscribe(sink, clientID, since), nil
}

// StopID ends the process the registry knows as id, for a reason decided
// elsewhere (a professor, the cleanup service). ref, when not empty, is the
// reference message gives for a failure on the server's side (a start that
// timed out); the exit carries it. Unknown ids are ignored: only processes
// this runner started can be stopped.
func (r *Runner) StopID(id string, reason registry.Reason, message, ref string) bool {
	r.mu.Lock()
	p, test := r.procs[id], r.tests[id]
	r.mu.Unlock()
	switch {
	case p != nil:
		p.stopFor(reason, message, ref)
	case test != nil:
		test.Kill() // RunTests reports the tests it ended
	default:
		return false
	}
	return true
}

// Sample reads the memory and CPU of every process into the registry.
func (r *Runner) Sample() {
	r.mu.Lock()
	ps := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.sample()
	}
}

// Shutdown stops every program with reason shutdown and waits for them to
// be gone, or for ctx.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if !r.closing {
		close(r.quit)
	}
	r.closing = true
	ps := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		ps = append(ps, p)
	}
	tests := make([]*sandbox.Process, 0, len(r.tests))
	for _, sp := range r.tests {
		tests = append(tests, sp)
	}
	r.mu.Unlock()
	r.coolAll()
	for _, p := range ps {
		p.stop(registry.ReasonShutdown, "")
	}
	for _, sp := range tests {
		sp.Kill()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("runner: programs still running at the shutdown deadline")
	}
}

// Drain stops admitting new runs (they are refused, saying why), ends the
// warm interpreters, and waits for the running programs to end by
// themselves, until ctx ends. The caller then calls Shutdown, which stops
// whatever is left with reason shutdown.
func (r *Runner) Drain(ctx context.Context) {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
	r.coolAll()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for r.Count() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Draining reports whether Drain was called.
func (r *Runner) Draining() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.draining
}

// Present reports whether owner has a connection or a process here.
func (r *Runner) Present(owner string) bool {
	r.mu.Lock()
	conns := r.pool.conns[owner]
	r.mu.Unlock()
	return conns > 0 || len(r.reg.ByOwner(owner)) > 0
}

// Has reports whether this runner holds process id.
func (r *Runner) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[id] != nil
}

// Count is the number of processes this runner holds.
func (r *Runner) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.procs)
}

func (r *Runner) lookup(owner, clientID string) *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byClient[clientKey{owner, clientID}]
}

// endedLog is the message log of a process that ended, kept for a while.
type endedLog struct {
	stream *stream
	at     time.Time
}

// Logs of ended processes are kept this long, and at most this many.
const (
	keepEnded    = 10 * time.Minute
	maxEndedLogs = 256
)

// forget removes a finished process from the runner's maps, keeping its
// message log for a browser that comes back.
func (r *Runner) forget(p *proc) {
	now := time.Now()
	key := clientKey{p.owner, p.clientID}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.procs, p.id)
	if r.byClient[key] == p {
		delete(r.byClient, key)
		r.ended[key] = endedLog{p.stream, now}
	}
	var oldestKey clientKey
	var oldest time.Time
	for k, e := range r.ended {
		if now.Sub(e.at) > keepEnded {
			delete(r.ended, k)
		} else if oldest.IsZero() || e.at.Before(oldest) {
			oldestKey, oldest = k, e.at
		}
	}
	if len(r.ended) > maxEndedLogs {
		delete(r.ended, oldestKey)
	}
}
