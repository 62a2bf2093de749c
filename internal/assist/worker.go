package assist

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"
	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// A worker is one confined pythonide_assist.py: a checker (no home) or a
// completer (one home, read-only). It answers one request at a time; the
// lane that holds it decides who sends the next one.
type worker struct {
	s       *Service
	id      string
	kind    string // "check" or "complete"
	sp      *sandbox.Process
	stdin   *os.File
	view    view // a completer's; the zero view for a checker
	courses string
	jedi    bool // its jedi imported (completers)

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan answer
	dead    chan struct{} // closed when its answers' channel has ended
	gone    chan struct{} // closed once the process is reaped
	recycle bool          // it said it ends after its last answer
	killed  atomic.Bool
	served  int
	stderr  sandbox.Capture
}

// answer is one line the worker sent for a request.
type answer struct {
	raw     []byte
	recycle bool
}

// Errors of a call, inside the package.
var (
	errTimeout   = errors.New("assist: the worker took too long")
	errDied      = errors.New("assist: the worker ended")
	errCancelled = errors.New("assist: cancelled")
	errBusy      = errors.New("assist: every worker is busy")
	errNoRoom    = fmt.Errorf("%w: no room for another home's completer", errBusy)
	errClosed    = errors.New("assist: closed")
)

// maxAnswer bounds one answer line (200 completions with details are ~40 KiB).
const maxAnswer = 4 << 20

func newWorkerID(kind string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "assist-" + kind + "-" + hex.EncodeToString(b[:])
}

// spawn starts a worker of kind for v (a completer's home; the zero view
// for a checker) and waits until it says it is ready.
func (s *Service) spawn(kind string, v view, warm bool) (*worker, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	mounts, dir := s.checkerMounts()
	args := []string{"-I", s.driverAt(), kind}
	if kind == kindComplete {
		// Checkers never wait behind completers starting.
		s.starting <- struct{}{}
		defer func() { <-s.starting }()
		mounts, dir = v.mounts, v.root
		args = append(args, v.root)
		if warm {
			args = append(args, "--warm")
		}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	w := &worker{s: s, id: newWorkerID(kind), kind: kind, stdin: inW, view: v, courses: v.courses,
		pending: map[uint64]chan answer{}, dead: make(chan struct{}), gone: make(chan struct{})}
	w.stderr.Max = 4 << 10
	sp, err := s.sb.Start(sandbox.Spec{
		ID:          w.id,
		Args:        args,
		Dir:         dir,
		Mounts:      mounts,
		Env:         interp.Env("HOME=/tmp", "PYTHONHASHSEED=0"),
		Stdin:       inR,
		Stdout:      outW,
		Stderr:      &w.stderr,
		MemoryBytes: s.opts.MemoryBytes,
	})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("assist: starting a %s worker: %w", kind, err)
	}
	w.sp = sp
	// The student pressing keys is waiting: a fresh program's share.
	_ = sp.Weigh(10 * cgroup.DefaultWeight)
	s.track(w, true)
	ready := make(chan answer, 1)
	go w.read(outR, ready)
	go func() {
		sp.Wait()
		inW.Close()
		s.track(w, false)
		close(w.gone)
	}()
	t := time.NewTimer(s.opts.StartTimeout)
	defer t.Stop()
	select {
	case a := <-ready:
		var r struct {
			Ready  bool   `json:"ready"`
			Jedi   bool   `json:"jedi"`
			Python string `json:"python"`
		}
		if json.Unmarshal(a.raw, &r) != nil || !r.Ready {
			w.kill()
			return nil, fmt.Errorf("assist: the %s worker did not start: %s", kind, bytes.TrimSpace(a.raw))
		}
		w.jedi = r.Jedi
		if r.Python != "" {
			s.python.Store(r.Python)
		}
		return w, nil
	case <-w.dead:
		w.kill()
		<-w.gone
		return nil, fmt.Errorf("assist: the %s worker ended as it started: %s", kind, w.stderr.String())
	case <-t.C:
		w.kill()
		return nil, fmt.Errorf("assist: the %s worker did not start within %s", kind, s.opts.StartTimeout)
	}
}

// read delivers the worker's lines: the first to ready, then each answer
// to the request waiting for it (an answer nobody waits for any more is
// dropped). It ends, and the worker with it, at the first line that is not
// one of its answers.
func (w *worker) read(r *os.File, ready chan<- answer) {
	defer func() {
		r.Close()
		w.mu.Lock()
		for id, ch := range w.pending {
			close(ch)
			delete(w.pending, id)
		}
		w.mu.Unlock()
		close(w.dead)
		w.kill()
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	first := true
	for {
		line, err := readLine(br, maxAnswer)
		if err != nil {
			return
		}
		if first {
			first = false
			ready <- answer{raw: line}
			continue
		}
		var head struct {
			ID      *uint64 `json:"id"`
			Recycle bool    `json:"recycle"`
		}
		if json.Unmarshal(line, &head) != nil || head.ID == nil {
			w.s.log.Warn("assist: a worker wrote something that is not an answer; it is replaced", "worker", w.id)
			return
		}
		w.mu.Lock()
		ch := w.pending[*head.ID]
		delete(w.pending, *head.ID)
		if head.Recycle {
			w.recycle = true
		}
		w.mu.Unlock()
		if ch != nil {
			ch <- answer{raw: line, recycle: head.Recycle}
		}
	}
}

// readLine reads one line of at most max bytes (without its newline).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			return nil, errors.New("assist: answer too long")
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			return bytes.TrimSuffix(buf, []byte("\n")), nil
		case bufio.ErrBufferFull:
			continue
		default:
			return nil, err
		}
	}
}

// send writes request req (given its id here) and returns the channel its
// answer comes on (closed if the worker ends first).
func (w *worker) send(req map[string]any) (uint64, <-chan answer, error) {
	w.mu.Lock()
	w.next++
	id := w.next
	ch := make(chan answer, 1)
	w.pending[id] = ch
	w.served++
	w.mu.Unlock()
	req["id"] = id
	line, err := json.Marshal(req)
	if err != nil {
		w.forget(id)
		return 0, nil, err
	}
	// A worker that reads nothing (stuck) cannot hold us: the request's
	// own deadline bounds the write too.
	_ = w.stdin.SetWriteDeadline(time.Now().Add(w.s.timeout(w.kind)))
	if _, err := w.stdin.Write(append(line, '\n')); err != nil {
		w.forget(id)
		w.kill()
		return 0, nil, errDied
	}
	return id, ch, nil
}

func (w *worker) forget(id uint64) {
	w.mu.Lock()
	delete(w.pending, id)
	w.mu.Unlock()
}

// cancel asks the worker to stop answering request id (a completer stops
// at the next line of jedi it runs; a checker finishes its parse).
func (w *worker) cancel(id uint64) {
	line, _ := json.Marshal(map[string]any{"op": "cancel", "id": id})
	_ = w.stdin.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = w.stdin.Write(append(line, '\n'))
}

// usable reports whether the worker can take another request.
func (w *worker) usable() bool {
	if w == nil || w.killed.Load() {
		return false
	}
	select {
	case <-w.dead:
		return false
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.recycle && w.served < maxServed
}

// maxServed requests, and a worker is replaced by a fresh one anyway.
const maxServed = 5000

func (w *worker) kill() {
	if w == nil || w.sp == nil {
		return
	}
	w.killed.Store(true)
	_ = w.sp.Kill()
}
