package runner

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// A warm interpreter is started for a connected student ahead of need:
// confined exactly as that student's run would be (same cgroup limits,
// rlimits, namespaces, home and read-only folders), its driver loaded,
// waiting on fd 4 for the line that says what to run. A run takes it
// instead of starting an interpreter, so the student does not wait for
// Python's start-up (docs/processes.md, "Warm interpreters").
//
// A warm interpreter runs no student code and is not in the registry: it is
// counted by the pool (Options.Warm in all), started at a low priority so it
// never delays running programs, and ended as soon as its owner's last
// connection closes. Taking it admits and registers it like any run, with
// the id it was started under (that names its cgroup).
type warm struct {
	id           string
	owner        string
	layout       layout // what it sees; a run that needs other mounts starts cold
	*interpreter        // its reader has already read the warm event
	events       chan interp.Event
	ended        chan struct{}
	taken        bool // by a run, which then owns all of the above (under r.mu)
	exited       bool // watchWarm saw it end (under r.mu)
}

// pool holds at most one warm interpreter per connected user.
type pool struct {
	ready    map[string]*warm     // by owner
	starting map[string]*pending  // by owner
	conns    map[string]int       // open connections per owner
	left     map[string]time.Time // when an owner's last connection closed
	// student is whose folder a teacher's last run came from: their next
	// warm interpreter has it mounted too, so grading a student's files
	// runs warm from the second file on.
	student map[string]string
}

// pending is a warm interpreter on its way. A run that arrives meanwhile
// waits for it (hurrying it to full priority) rather than starting a
// second interpreter cold. Its fields are guarded by r.mu.
type pending struct {
	sp    *sandbox.Process // once spawned
	hurry bool             // a run waits for it
	done  chan struct{}    // closed when it is ready or has failed
}

// adoptWait bounds how long a run waits for its student's warm interpreter
// to finish starting; a start-up slower than that is not one to wait for.
const adoptWait = 5 * time.Second

// Connected counts a connection (a browser tab) of u's and prepares a warm
// interpreter for u when there is room in the pool.
func (r *Runner) Connected(u User) {
	r.reg.Connected(u.Name)
	r.mu.Lock()
	r.pool.conns[u.Name]++
	delete(r.pool.left, u.Name)
	r.mu.Unlock()
	r.warmUp(u)
}

// Disconnected counts a connection fewer; the user's warm interpreter ends
// once their last connection has been closed for Options.WarmGrace (a page
// reload or a Wi-Fi blip keeps it).
func (r *Runner) Disconnected(owner string) {
	r.reg.Disconnected(owner)
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.pool.conns[owner]; n > 1 {
		r.pool.conns[owner] = n - 1
		return
	}
	delete(r.pool.conns, owner)
	delete(r.pool.student, owner)
	r.pool.left[owner] = time.Now()
	if w := r.pool.ready[owner]; w != nil {
		r.coolLater(owner, w, r.opts.WarmGrace)
	}
}

// coolLater ends owner's warm interpreter w after grace unless owner came
// back (or w was taken) meanwhile. The caller holds r.mu.
func (r *Runner) coolLater(owner string, w *warm, grace time.Duration) {
	if grace > 0 {
		time.AfterFunc(grace, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			left, away := r.pool.left[owner]
			if !away || r.pool.ready[owner] != w {
				return
			}
			// Another disconnection since this timer was set: wait out its grace.
			r.coolLater(owner, w, r.opts.WarmGrace-time.Since(left))
		})
		return
	}
	delete(r.pool.ready, owner)
	delete(r.pool.left, owner)
	w.sp.Kill() // watchWarm cleans up
}

// WarmCount is how many warm interpreters are ready.
func (r *Runner) WarmCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pool.ready)
}

// warmUp starts a warm interpreter for u in the background unless u has one,
// is not connected, or the pool is full.
func (r *Runner) warmUp(u User) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &r.pool
	if r.opts.Warm <= 0 || r.closing || r.draining || p.conns[u.Name] == 0 || p.ready[u.Name] != nil || p.starting[u.Name] != nil ||
		len(p.ready)+len(p.starting) >= r.opts.Warm {
		return
	}
	pw := &pending{done: make(chan struct{})}
	p.starting[u.Name] = pw
	student := p.student[u.Name]
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w, err := r.startWarm(u, student, pw)
		r.mu.Lock()
		delete(p.starting, u.Name)
		close(pw.done)
		keep := err == nil && !r.closing && p.conns[u.Name] > 0 && p.ready[u.Name] == nil
		if keep {
			p.ready[u.Name] = w
		}
		r.mu.Unlock()
		if err != nil {
			r.log.Debug("starting a warm interpreter failed", "owner", u.Name, "err", err)
			return
		}
		if !keep {
			w.sp.Kill()
		}
		r.wg.Add(1)
		go r.watchWarm(w)
	}()
}

// startWarm spawns a warm interpreter for u, seeing what a run of u's own
// files (or of student's, for a teacher) would see.
func (r *Runner) startWarm(u User, student string, pw *pending) (*warm, error) {
	l, err := r.layout(u, student)
	if err != nil {
		return nil, err
	}
	w := &warm{id: newRegistryID(), owner: u.Name, layout: l,
		events: make(chan interp.Event, 64), ended: make(chan struct{})}
	nice := 0
	if r.sb.Layers().UIDDrop { // root: Foreground can bring it back to 0 when taken
		nice = sandbox.BackgroundNice
	}
	w.interpreter, err = r.spawnInterpreter(sandbox.Spec{
		ID: w.id, Args: interp.WaitArgs(l.inside(r.opts.DriverPath)), Dir: l.inside(l.home), Nice: nice,
	}, l, w.events, w.ended)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	pw.sp = w.sp
	hurry := pw.hurry
	r.mu.Unlock()
	if hurry {
		hurryUp(w.sp)
	}
	// Ready once the driver says it is loaded: a run that took it earlier
	// would still wait for Python, and its start-up would still compete
	// with everything else for the CPU.
	slow := time.AfterFunc(warmStartTimeout, func() { w.sp.Kill() })
	ev, err := w.rd.Next()
	slow.Stop()
	if err != nil || ev.Type != interp.TypeWarm {
		w.discard()
		close(w.ended)
		return nil, fmt.Errorf("warm interpreter not ready: event %q, %v", ev.Type, err)
	}
	return w, nil
}

// warmStartTimeout bounds a warm interpreter's start-up.
const warmStartTimeout = 30 * time.Second

// watchWarm waits for a warm interpreter to end. Untaken, it is dropped from
// the pool and its pipes closed; taken, its run owns it.
func (r *Runner) watchWarm(w *warm) {
	defer r.wg.Done()
	w.sp.Wait()
	r.mu.Lock()
	if r.pool.ready[w.owner] == w {
		delete(r.pool.ready, w.owner)
	}
	taken := w.taken
	w.exited = true
	r.mu.Unlock()
	if !taken {
		w.evR.Close()
		w.cmdW.Close()
		close(w.ended)
	}
}

// hurryUp brings a warm interpreter that a run waits for to a fresh run's
// priority at once.
func hurryUp(sp *sandbox.Process) {
	sp.Foreground()
	sp.Weigh(freshWeight)
}

// awaitWarm waits (up to adoptWait) for owner's warm interpreter that is
// still starting, hurrying it, and reports whether there was one. The
// caller holds r.mu; it is let go while waiting and held again after.
func (r *Runner) awaitWarm(owner string) bool {
	pw := r.pool.starting[owner]
	if pw == nil {
		return false
	}
	pw.hurry = true
	sp := pw.sp
	r.mu.Unlock()
	if sp != nil {
		hurryUp(sp)
	}
	select {
	case <-pw.done:
	case <-time.After(adoptWait):
	}
	r.mu.Lock()
	return true
}

// takeWarm hands u's warm interpreter to a run that needs l, or nil.
// The caller holds r.mu.
func (r *Runner) takeWarm(owner string, l layout) *warm {
	w := r.pool.ready[owner]
	if w == nil {
		return nil
	}
	delete(r.pool.ready, owner)
	if !w.layout.equal(l) { // a course folder appeared, or a professor runs a student's file
		w.sp.Kill()
		return nil
	}
	w.taken = true
	return w
}

// putBackWarm returns a warm interpreter whose run was refused. The caller
// holds r.mu.
func (r *Runner) putBackWarm(w *warm) {
	if w == nil {
		return
	}
	w.taken = false
	switch {
	case w.exited: // died while taken: watchWarm left the pipes to the run
		w.evR.Close()
		w.cmdW.Close()
		close(w.ended)
	case r.pool.ready[w.owner] != nil || r.closing || r.pool.conns[w.owner] == 0:
		w.sp.Kill() // watchWarm cleans up; no grace timer would end it for an owner already gone
	default:
		r.pool.ready[w.owner] = w
	}
}

// discard ends a warm interpreter that will serve no run, and closes our
// ends of its pipes once it is gone (ended is left to its owner).
func (w *warm) discard() {
	w.sp.Kill()
	w.sp.Wait()
	w.evR.Close()
	w.cmdW.Close()
}

// claim makes a taken warm interpreter run script ("" for a REPL) at full
// priority: reniced and weighted first, so no moment of the run is spent
// at a warm interpreter's priority.
func (w *warm) claim(script string) error {
	if err := w.sp.Foreground(); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	w.sp.Weigh(freshWeight) // the runner shares it out once the run has started
	_, err := w.cmdW.WriteString(interp.Claim(script) + "\n")
	return err
}

// coolAll ends every warm interpreter (at shutdown).
func (r *Runner) coolAll() {
	r.mu.Lock()
	ws := make([]*warm, 0, len(r.pool.ready))
	for o, w := range r.pool.ready {
		ws = append(ws, w)
		delete(r.pool.ready, o)
	}
	r.mu.Unlock()
	for _, w := range ws {
		w.sp.Kill()
	}
}
