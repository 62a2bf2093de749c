// Package assist is the editor's assistance: syntax checks as a student
// types and completions with signature help from jedi, answered by small
// confined Python workers (the interpreter's pythonide_assist.py) that
// never run a student's code.
//
// Two kinds of worker, both started by the sandbox exactly as a student's
// program is (no network, the sandbox uid, their own cgroup, no /proc of
// the server), but never in the process registry: they run no student
// code, so they take no student's process slot and no admission limit
// counts them (docs/processes.md, "Editor assistance").
//   - Checkers (Options.Checkers, shared by everyone) see no home at all:
//     the source comes on their stdin and they only parse it.
//   - Completers (at most Options.Completers at once) see one home,
//     read-only, where its owner's programs see it, and the course folders:
//     one per home, started on demand and ended when unused, the least
//     recently used one when another home needs room.
//   - Shared completers (Options.Shared) answer, for anyone, a completion
//     no home's completer has room for: they see no home and no course
//     folder, only the source they are sent and (under bubblewrap) the
//     student's modules it imports from its folder (companions.go), so they
//     offer those names and the standard library's, not the rest of the
//     student's files (the answer says so: limited).
//
// Every request has a deadline; a worker that misses it is killed and
// replaced, and the answer says the request was skipped. A user's newer
// request of the same kind cancels their older one.
package assist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

// DriverFile is the workers' script beside the driver (interp.Install).
const DriverFile = "pythonide_assist.py"

// MaxSource is the largest source a request may carry.
const MaxSource = 256 << 10

// The kinds of the service's refusals (fault.Error kinds).
var (
	ErrInvalid  = errors.New("assist: invalid request")
	ErrTooLarge = errors.New("assist: the source is too large")
)

const (
	kindCheck    = "check"
	kindComplete = "complete"
)

// Options are the service's bounds.
type Options struct {
	DriverDir string // where interp.Install put the driver files (host path)
	// Checkers is how many syntax checkers serve everyone; default 2.
	Checkers int
	// Completers is the most completion workers (one per home) at once;
	// 0: none (completions answer "not available").
	Completers int
	// Shared is how many completers that see no home answer the
	// completions no home's completer has room for; 0: none (those are
	// answered busy). Only with Completers: no completers, no completions.
	Shared          int
	CheckTimeout    time.Duration // a check's deadline; default 1 s
	CompleteTimeout time.Duration // a completion's deadline; default 3 s
	// WaitTimeout bounds the wait for a free worker; default 2 s.
	WaitTimeout time.Duration
	// StartTimeout bounds a worker's start (jedi's import); default 15 s.
	StartTimeout time.Duration
	// IdleTimeout ends a completer nobody asked anything for so long; default 2 min.
	IdleTimeout time.Duration
	// MinResidency is how long a completer is kept after its last request
	// before another home may take its place when all are taken; default 10 s.
	MinResidency time.Duration
	// MemoryBytes is each worker's memory limit; default 256 MiB.
	MemoryBytes int64
}

func (o *Options) defaults() {
	if o.Checkers <= 0 {
		o.Checkers = 2
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = time.Second
	}
	if o.CompleteTimeout <= 0 {
		o.CompleteTimeout = 3 * time.Second
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 2 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.MinResidency <= 0 {
		o.MinResidency = 10 * time.Second
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = 256 << 20
	}
}

// Service answers the editor's checks and completions.
type Service struct {
	sb   *sandbox.Sandbox
	ws   *workspace.Workspace
	opts Options
	log  *slog.Logger

	jedi   atomic.Bool  // completions are available (jedi imports in a worker)
	python atomic.Value // the workers' Python version, e.g. "3.11.2"

	checkers chan *worker // one token per checker while it is free (nil: none started)
	shared   chan *worker // the same for the shared completers (started at first need)
	// starting bounds the completers starting at once (jedi's import and
	// first parse are CPU work): a class arriving together is served one
	// after another rather than all too late.
	starting chan struct{}

	mu      sync.Mutex
	homes   map[string]*home // completers' lanes, by view key
	flights map[string]*flight
	live    map[*worker]struct{}
	closed  bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

// home is the lane of one home's completer: at most one request at a time.
type home struct {
	key   string
	ch    chan *worker // holds the worker (nil: none yet) while nobody uses it
	users int          // requests holding or waiting for the lane (s.mu)
	last  time.Time    // last let go (s.mu)
}

// New starts the checkers, finds out once whether jedi works in a
// confined worker (and logs it), and returns the service. It never fails:
// what cannot start answers "skipped" or "not available".
func New(ctx context.Context, sb *sandbox.Sandbox, ws *workspace.Workspace, opts Options, log *slog.Logger) *Service {
	opts.defaults()
	if opts.Completers <= 0 {
		opts.Shared = 0
	}
	s := &Service{sb: sb, ws: ws, opts: opts, log: log,
		checkers: make(chan *worker, opts.Checkers), shared: make(chan *worker, max(opts.Shared, 0)), starting: make(chan struct{}, max(runtime.NumCPU(), 2)), homes: map[string]*home{},
		flights: map[string]*flight{}, live: map[*worker]struct{}{}, quit: make(chan struct{})}
	var wg sync.WaitGroup
	var checkErr error
	var errMu sync.Mutex
	for range opts.Checkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.spawn(kindCheck, view{}, false)
			if err != nil {
				errMu.Lock()
				checkErr = err
				errMu.Unlock()
			}
			s.checkers <- w
		}()
	}
	for range opts.Shared {
		s.shared <- nil
	}
	jediErr := errors.New("completions are off (--assist-completers)")
	if opts.Completers > 0 {
		jediErr = s.probe()
	}
	wg.Wait()
	if checkErr != nil {
		log.Error("editor assistance: a syntax checker could not start; checks are skipped until one does", "err", checkErr)
	}
	python, _ := s.python.Load().(string)
	if jediErr == nil {
		log.Info("editor assistance: syntax checks and completions (jedi) available", "checkers", opts.Checkers,
			"completers", opts.Completers, "shared_completers", opts.Shared, "python", python, "memory_per_worker", opts.MemoryBytes)
	} else {
		log.Warn("editor assistance: completions are not available (jedi); syntax checks are", "reason", jediErr, "checkers", opts.Checkers, "python", python)
	}
	s.wg.Add(1)
	go s.reap()
	return s
}

// probe starts a completer over nothing but the driver folder, to learn
// whether jedi imports there.
func (s *Service) probe() error {
	w, err := s.spawn(kindComplete, s.sharedView(), false)
	if err != nil {
		return err
	}
	w.kill()
	if !w.jedi {
		return errors.New("the Python of the programs cannot import jedi (install python3-jedi)")
	}
	s.jedi.Store(true)
	return nil
}

// Available reports whether completions are (jedi works).
func (s *Service) Available() bool { return s.jedi.Load() }

// CheckResult is a syntax check's answer (docs/api.md).
type CheckResult struct {
	OK      bool         `json:"ok"`
	Error   *SyntaxError `json:"error,omitempty"`
	Skipped bool         `json:"skipped,omitempty"`
	Message string       `json:"message,omitempty"` // why it was skipped
}

// SyntaxError is where Python found the first error, 1-based, the end
// exclusive, columns in characters.
type SyntaxError struct {
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
	Message   string `json:"message"`
}

// CompleteResult is a completion's answer (docs/api.md).
type CompleteResult struct {
	Available   bool         `json:"available"`
	Completions []Completion `json:"completions"`
	Signatures  []Signature  `json:"signatures"`
	Incomplete  bool         `json:"incomplete,omitempty"` // more names matched than were sent
	// Limited: answered by a shared completer, which sees none of the
	// student's other files but the modules the source imports from its
	// folder (Message says which).
	Limited bool   `json:"limited,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
	Message string `json:"message,omitempty"`
}

// Completion is one name that fits where the cursor is.
type Completion struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Signature string `json:"signature,omitempty"`
	Doc       string `json:"doc,omitempty"` // the docstring's first line
}

// Signature is a call the cursor is in.
type Signature struct {
	Name   string   `json:"name"`
	Params []string `json:"params"`
	Index  *int     `json:"index"` // the parameter the cursor is at; null past the last
}

// Check parses source as Python would before running it and says where
// its first syntax error is. p (a workspace path) only names the file; a
// user's newer check cancels their older one.
func (s *Service) Check(ctx context.Context, a workspace.Actor, p, source string) (CheckResult, error) {
	if len(source) > MaxSource {
		return CheckResult{}, tooLarge()
	}
	ctx, done := s.supersede(ctx, a.Username, kindCheck)
	defer done()
	s.prepare(a, p)
	w, err := s.takeChecker(ctx)
	if err != nil {
		return skippedCheck(err, s.opts.CheckTimeout), nil
	}
	raw, err := s.call(ctx, w, map[string]any{"op": kindCheck, "source": source, "path": p}, s.opts.CheckTimeout, s.putChecker)
	if err != nil {
		return skippedCheck(err, s.opts.CheckTimeout), nil
	}
	var ans struct {
		OK        bool         `json:"ok"`
		Error     *SyntaxError `json:"error"`
		Skipped   string       `json:"skipped"`
		Cancelled bool         `json:"cancelled"`
	}
	if json.Unmarshal(raw, &ans) != nil {
		return skippedCheck(errDied, s.opts.CheckTimeout), nil
	}
	switch {
	case ans.OK:
		return CheckResult{OK: true}, nil
	case ans.Error != nil:
		e := *ans.Error
		e.Message = clip(e.Message, 500)
		return CheckResult{Error: &e}, nil
	case ans.Skipped == "nested":
		return CheckResult{Skipped: true, Message: "This file is too deeply nested to check."}, nil
	case ans.Cancelled:
		return skippedCheck(errCancelled, 0), nil
	}
	return CheckResult{Skipped: true, Message: "This file could not be checked."}, nil
}

func skippedCheck(err error, limit time.Duration) CheckResult {
	m := "Syntax checking is not available right now."
	switch {
	case errors.Is(err, errTimeout):
		m = fmt.Sprintf("This file took too long to check (over %s), so it was not checked.", limit)
	case errors.Is(err, errDied):
		m = "The checker stopped on this file (it may be too large or too complex), so it was not checked."
	case errors.Is(err, errCancelled):
		m = "A newer check replaced this one."
	case errors.Is(err, errBusy):
		m = "The checker is busy; the file will be checked at your next change."
	case errors.Is(err, errClosed):
		m = "The server is stopping."
	}
	return CheckResult{Skipped: true, Message: m}
}

// Complete answers the names that fit at the cursor (line and column
// 1-based, the column in characters) and the calls the cursor is in, with
// jedi over the home that holds p, read-only, as a program of that home's
// owner would see it. A user's newer completion cancels their older one.
func (s *Service) Complete(ctx context.Context, a workspace.Actor, p, source string, line, column int) (CompleteResult, error) {
	if len(source) > MaxSource {
		return CompleteResult{}, tooLarge()
	}
	if !s.jedi.Load() {
		return unavailable(), nil
	}
	v, err := s.viewFor(a, p)
	if err != nil {
		return CompleteResult{}, err
	}
	ctx, done := s.supersede(ctx, a.Username, kindComplete)
	defer done()
	file, limited := v.file, false
	h, w, err := s.takeHome(ctx, v, false)
	put := func(w *worker) { s.putHome(h, w) }
	if errors.Is(err, errNoRoom) && cap(s.shared) > 0 {
		// Every home's completer is in use: one that sees no home answers
		// with what the source itself and the system's modules hold, the
		// file named as if in an empty home.
		w, err = s.takeShared(ctx)
		file, limited, put = path.Join(runner.HomeAt, path.Base(v.file)), true, s.putShared
	}
	if err != nil {
		return skippedComplete(err), nil
	}
	if !w.jedi {
		put(w)
		return unavailable(), nil
	}
	req := map[string]any{"op": kindComplete, "source": source, "path": file, "line": line, "column": column}
	var modules map[string]string
	if limited && s.sb.Remaps() {
		// What it cannot read, it is given: the student's own modules the
		// source imports from its folder, read as the student would, for it
		// to write in its private /tmp (bubblewrap's; under Landlock alone
		// it has nowhere to write them).
		if modules = s.companions(a, p, source); len(modules) > 0 {
			req["modules"] = modules
		}
	}
	raw, err := s.call(ctx, w, req, s.opts.CompleteTimeout, put)
	if err != nil {
		return skippedComplete(err), nil
	}
	var ans struct {
		Completions []Completion `json:"completions"`
		Signatures  []Signature  `json:"signatures"`
		Incomplete  bool         `json:"incomplete"`
		Cancelled   bool         `json:"cancelled"`
		Skipped     string       `json:"skipped"`
		Failed      string       `json:"failed"`
	}
	if json.Unmarshal(raw, &ans) != nil {
		return skippedComplete(errDied), nil
	}
	switch {
	case ans.Cancelled:
		return skippedComplete(errCancelled), nil
	case ans.Skipped != "":
		r := skippedComplete(nil)
		r.Message = "This file is too deeply nested to complete in."
		return r, nil
	case ans.Failed != "":
		s.log.Debug("assist: a completion failed in jedi", "err", ans.Failed)
	}
	r := CompleteResult{Available: true, Completions: ans.Completions, Signatures: ans.Signatures, Incomplete: ans.Incomplete, Limited: limited}
	if limited {
		r.Message = "Every completion helper that reads your files is in use, so names from your other files are not offered just now."
		if len(modules) > 0 {
			r.Message = "Every completion helper that reads your files is in use, so only the modules this file imports from its folder are read just now."
		}
	}
	if r.Completions == nil {
		r.Completions = []Completion{}
	}
	if r.Signatures == nil {
		r.Signatures = []Signature{}
	}
	if len(r.Completions) > maxCompletions {
		r.Completions, r.Incomplete = r.Completions[:maxCompletions], true
	}
	if len(r.Signatures) > maxSignatures {
		r.Signatures = r.Signatures[:maxSignatures]
	}
	return r, nil
}

// What a completion's answer holds at most (the worker keeps to them; the
// server makes sure).
const (
	maxCompletions = 200
	maxSignatures  = 8
)

func unavailable() CompleteResult {
	return CompleteResult{Completions: []Completion{}, Signatures: []Signature{}}
}

func skippedComplete(err error) CompleteResult {
	r := CompleteResult{Available: true, Completions: []Completion{}, Signatures: []Signature{}, Skipped: true,
		Message: "Completions are not available right now."}
	switch {
	case errors.Is(err, errTimeout):
		r.Message = "Completing took too long here, so there are no suggestions."
	case errors.Is(err, errDied):
		r.Message = "The completion helper stopped here, so there are no suggestions."
	case errors.Is(err, errCancelled):
		r.Message = "A newer request replaced this one."
	case errors.Is(err, errBusy):
		r.Message = "The completion helpers are busy; try again in a moment."
	case errors.Is(err, errClosed):
		r.Message = "The server is stopping."
	}
	return r
}

func tooLarge() error {
	return fault.New(ErrTooLarge, "This file is over %d KiB, too large for the editor to check or complete as you type.", MaxSource>>10)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (s *Service) timeout(kind string) time.Duration {
	if kind == kindCheck {
		return s.opts.CheckTimeout
	}
	return s.opts.CompleteTimeout
}

// supersede cancels user's request of kind that is still being answered
// and registers this one; done forgets it.
func (s *Service) supersede(ctx context.Context, user, kind string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	k := kind + "\x00" + user
	f := &flight{cancel: cancel}
	s.mu.Lock()
	if old := s.flights[k]; old != nil {
		old.cancel()
	}
	s.flights[k] = f
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		if s.flights[k] == f {
			delete(s.flights, k)
		}
		s.mu.Unlock()
		cancel()
	}
}

// flight is a request being answered, which a newer one cancels.
type flight struct{ cancel context.CancelFunc }

// call sends req to w and waits for its answer until timeout; put gives
// the worker back (killed, it is replaced). A cancelled request returns at
// once; the worker is told, and serves nobody else until it has answered
// (its answer is dropped) or been killed at the deadline.
func (s *Service) call(ctx context.Context, w *worker, req map[string]any, timeout time.Duration, put func(*worker)) ([]byte, error) {
	id, ch, err := w.send(req)
	if err != nil {
		put(w)
		return nil, err
	}
	t := time.NewTimer(timeout)
	select {
	case a, ok := <-ch:
		t.Stop()
		put(w)
		if !ok {
			return nil, errDied
		}
		return a.raw, nil
	case <-t.C:
		w.kill()
		put(w)
		return nil, errTimeout
	case <-ctx.Done():
		if w.kind == kindComplete {
			w.cancel(id)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-ch:
				t.Stop()
			case <-t.C:
				w.kill()
			}
			put(w)
		}()
		return nil, errCancelled
	}
}

// takeChecker waits for a free checker, starting one in an empty slot.
func (s *Service) takeChecker(ctx context.Context) (*worker, error) {
	return s.take(ctx, s.checkers, func() (*worker, error) { return s.spawn(kindCheck, view{}, false) })
}

// take waits for a free worker of pool (a channel of tokens: a worker, or
// nil for an empty slot), starting one with start where the slot is empty
// or its worker ended.
func (s *Service) take(ctx context.Context, pool chan *worker, start func() (*worker, error)) (*worker, error) {
	t := time.NewTimer(s.opts.WaitTimeout)
	defer t.Stop()
	select {
	case w := <-pool:
		if w.usable() {
			return w, nil
		}
		w.kill()
		nw, err := start()
		if err != nil {
			pool <- nil
			return nil, err
		}
		return nw, nil
	case <-ctx.Done():
		return nil, errCancelled
	case <-t.C:
		return nil, errBusy
	case <-s.quit:
		return nil, errClosed
	}
}

// putChecker gives a checker back; one that ended (killed at its deadline,
// grown too big) is replaced first, in the background.
func (s *Service) putChecker(w *worker) {
	if w.usable() {
		s.checkers <- w
		return
	}
	w.kill()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		nw, err := s.spawn(kindCheck, view{}, false)
		if err != nil && !errors.Is(err, errClosed) {
			s.log.Warn("editor assistance: a syntax checker could not be replaced", "err", err)
		}
		s.checkers <- nw
	}()
}

// takeShared waits for a free shared completer, starting one in an empty
// slot.
func (s *Service) takeShared(ctx context.Context) (*worker, error) {
	return s.take(ctx, s.shared, func() (*worker, error) { return s.spawn(kindComplete, s.sharedView(), true) })
}

// putShared gives a shared completer back (one that ended is started again
// by the next request that needs it).
func (s *Service) putShared(w *worker) { s.shared <- w }

// takeHome takes the lane of v's home, making room for it if needed (the
// least recently used completer unused for MinResidency ends; when there
// is none, errNoRoom at once), waits for the lane (WaitTimeout), and makes
// sure its worker runs and sees the course folders there are now. With
// prepare it only starts a worker where there is room, without waiting.
func (s *Service) takeHome(ctx context.Context, v view, prepare bool) (*home, *worker, error) {
	wait := time.NewTimer(s.opts.WaitTimeout)
	defer wait.Stop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, errClosed
	}
	h := s.homes[v.key]
	if prepare && (h != nil || len(s.homes) >= s.opts.Completers) {
		s.mu.Unlock()
		return nil, nil, errBusy
	}
	if h == nil && len(s.homes) >= s.opts.Completers {
		// Room only from a completer unused for a while: ending one
		// that was asked a moment ago (and starting it again at its
		// student's next keystroke) would have a full class's
		// completers start all the time and serve nobody.
		s.evictLocked(time.Now().Add(-s.opts.MinResidency), true)
	}
	if h == nil && len(s.homes) < s.opts.Completers {
		h = &home{key: v.key, ch: make(chan *worker, 1)}
		h.ch <- nil
		s.homes[v.key] = h
	}
	if h == nil {
		s.mu.Unlock()
		return nil, nil, errNoRoom
	}
	h.users++
	s.mu.Unlock()
	select {
	case w := <-h.ch:
		if w.usable() && w.courses == v.courses {
			return h, w, nil
		}
		w.kill()
		nw, err := s.spawn(kindComplete, v, prepare)
		if err != nil {
			s.putHome(h, nil)
			return nil, nil, err
		}
		return h, nw, nil
	case <-ctx.Done():
		s.leaveHome(h)
		return nil, nil, errCancelled
	case <-wait.C:
		s.leaveHome(h)
		return nil, nil, errBusy
	}
}

// putHome gives the lane back with its worker (nil or dead: the next
// request starts one).
func (s *Service) putHome(h *home, w *worker) {
	h.ch <- w
	s.leaveHome(h)
}

func (s *Service) leaveHome(h *home) {
	s.mu.Lock()
	h.users--
	h.last = time.Now()
	s.mu.Unlock()
}

// evictLocked ends every completer nobody is using and nobody asked
// anything since idleSince, or with lru only the least recently used of
// them. The caller holds s.mu.
func (s *Service) evictLocked(idleSince time.Time, lru bool) {
	var oldest *home
	for _, h := range s.homes {
		if h.users > 0 || !h.last.Before(idleSince) {
			continue
		}
		if !lru {
			s.dropLocked(h)
		} else if oldest == nil || h.last.Before(oldest.last) {
			oldest = h
		}
	}
	if oldest != nil {
		s.dropLocked(oldest)
	}
}

func (s *Service) dropLocked(h *home) {
	delete(s.homes, h.key)
	w := <-h.ch // nobody uses the lane, so its worker is in it
	w.kill()
}

// prepare starts the completer of p's home ahead of the first completion
// (a check says the student is typing there), where there is room for it
// without ending another.
func (s *Service) prepare(a workspace.Actor, p string) {
	if !s.jedi.Load() || p == "" {
		return
	}
	key := "home/" + a.Username
	if parts := strings.SplitN(p, "/", 3); parts[0] == "Local" && len(parts) == 3 {
		key = "home/" + parts[1]
	}
	s.mu.Lock()
	_, has := s.homes[key]
	full := len(s.homes) >= s.opts.Completers
	s.mu.Unlock()
	if has || full {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		v, err := s.viewFor(a, p)
		if err != nil {
			return
		}
		h, w, err := s.takeHome(context.Background(), v, true)
		if err == nil {
			s.putHome(h, w)
		}
	}()
}

// reap ends completers unused for IdleTimeout.
func (s *Service) reap() {
	defer s.wg.Done()
	t := time.NewTicker(max(s.opts.IdleTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.mu.Lock()
			s.evictLocked(time.Now().Add(-s.opts.IdleTimeout), false)
			s.mu.Unlock()
		}
	}
}

func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track records a worker's process while it lives (Close kills them all).
func (s *Service) track(w *worker, alive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !alive {
		delete(s.live, w)
		return
	}
	s.live[w] = struct{}{}
	if s.closed {
		w.kill()
	}
}

// Stats is the pool as it is now.
type Stats struct {
	Checkers    int   `json:"checkers"`   // checkers' processes alive
	Completers  int   `json:"completers"` // completers' processes alive
	MemoryBytes int64 `json:"memory_bytes"`
	PIDs        []int `json:"-"` // each worker's process (bubblewrap's, when it is used)
}

// Stats measures every worker (cgroup memory, else the tree's RSS).
func (s *Service) Stats() Stats {
	s.mu.Lock()
	ws := make([]*worker, 0, len(s.live))
	for w := range s.live {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	var st Stats
	for _, w := range ws {
		if w.kind == kindCheck {
			st.Checkers++
		} else {
			st.Completers++
		}
		if mem, _, err := w.sp.Usage(); err == nil {
			st.MemoryBytes += mem
		}
		st.PIDs = append(st.PIDs, w.sp.PID())
	}
	return st
}

// Close ends every worker and waits until they are gone (before the
// sandbox's cgroups are removed).
func (s *Service) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ws := make([]*worker, 0, len(s.live))
		for w := range s.live {
			ws = append(ws, w)
		}
		s.mu.Unlock()
		if len(ws) == 0 {
			break
		}
		for _, w := range ws {
			w.kill()
		}
		for _, w := range ws {
			select {
			case <-w.gone:
			case <-time.After(time.Until(deadline)):
			}
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(time.Until(deadline) + time.Second):
		return errors.New("assist: workers still ending at the close deadline")
	}
}
