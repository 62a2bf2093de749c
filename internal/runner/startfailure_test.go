package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

const (
	passingTail = "Try again in a minute; if it keeps happening, tell your teacher and give them the reference R-0a1b2c."
	lastingTail = "Trying again will not help: tell your teacher, and give them the reference R-0a1b2c."
)

// TestStartFailureSaysWhetherTryingAgainHelps classifies the causes a start
// on the server's side fails with: those a minute may cure, and those that
// last until someone acts.
func TestStartFailureSaysWhetherTryingAgainHelps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cause error
		retry bool
	}{
		{"out of processes", fmt.Errorf("sandbox: start helper: %w", &os.SyscallError{Syscall: "fork/exec", Err: syscall.EAGAIN}), true},
		{"out of memory", fmt.Errorf("sandbox: cgroup: %w", syscall.ENOMEM), true},
		{"out of descriptors", &fs.PathError{Op: "pipe", Path: "", Err: syscall.EMFILE}, true},
		{"the system out of descriptors", &fs.PathError{Op: "open", Path: "/sys/fs/cgroup/x", Err: syscall.ENFILE}, true},
		{"out of namespaces", fmt.Errorf("sandbox: start helper: %w", syscall.ENOSPC), true},
		{"the helper's text", errors.New("sandbox helper: memfd: resource temporarily unavailable"), true},
		{"the helper out of memory", errors.New("sandbox helper: exec bwrap: cannot allocate memory"), true},
		{"a deadline", fmt.Errorf("warm interpreter: %w", context.DeadlineExceeded), true},
		{"a timeout", fmt.Errorf("sandbox: %w", syscall.ETIMEDOUT), true},
		{"a home that cannot be prepared", fault.New(workspace.ErrExists, "Local/ann exists but is not a folder; ask the administrator to fix it."), false},
		{"no home", errors.New("no home folder for Ann!"), false},
		{"a permission", &fs.PathError{Op: "mkdir", Path: "/sys/fs/cgroup/x", Err: syscall.EACCES}, false},
		{"a missing interpreter", errors.New("sandbox helper: exec python: no such file or directory"), false},
		{"a broken sandbox", errors.New(`sandbox: mount "driver" must be absolute and clean`), false},
		{"a full data disk", fault.Wrap(&fs.PathError{Op: "mkdir", Path: "ann", Err: syscall.ENOSPC}, workspace.ErrDiskFull, "The server's disk is full. Please tell your teacher."), false},
		{"a read-only data disk", fault.Wrap(syscall.EROFS, workspace.ErrReadOnly, "The server cannot save files right now (its disk is read-only). Please tell your teacher."), false},
		{"over a disk quota", &fs.PathError{Op: "mkdir", Path: "ann", Err: syscall.EDQUOT}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newStartFailure(tc.cause, "R-0a1b2c")
			if f.Retry != tc.retry || f.Ref != "R-0a1b2c" || f.Err != tc.cause {
				t.Fatalf("%v: got retry %t ref %q cause %v, want retry %t", tc.cause, f.Retry, f.Ref, f.Err, tc.retry)
			}
			for _, want := range []string{"Your program could not be started", "a problem on the server, not in your program", "R-0a1b2c"} {
				if !strings.Contains(f.Message, want) {
					t.Errorf("%q lacks %q", f.Message, want)
				}
			}
			if tail := map[bool]string{true: passingTail, false: lastingTail}[tc.retry]; !strings.HasSuffix(f.Message, tail) {
				t.Errorf("%q does not end in %q", f.Message, tail)
			}
			if strings.Contains(f.Message, tc.cause.Error()) || strings.Contains(f.Message, "sandbox") {
				t.Errorf("%q shows the cause", f.Message)
			}
			// As the runner refuses with it: an ErrUnavailable saying the
			// same, the failure (and its cause) inside for errors.As/Is.
			err := f.refusal()
			var got *StartFailure
			if msg, _ := fault.Message(err); msg != f.Message || !errors.Is(err, ErrUnavailable) || !errors.As(err, &got) || got != f || !errors.Is(err, tc.cause) {
				t.Errorf("refusal %v: message %q", err, msg)
			}
		})
	}
	if m := newStartFailure(errors.New("x"), "R-0a1b2c").Message; m != "Your program could not be started because of a problem on the server, not in your program. "+lastingTail {
		t.Errorf("lasting: %q", m)
	}
	if m := newStartFailure(syscall.EAGAIN, "R-0a1b2c").Message; m != "Your program could not be started because the server is too busy right now. "+
		"This is a problem on the server, not in your program. "+passingTail {
		t.Errorf("passing: %q", m)
	}
}

// syncBuffer is a log a test reads while the runner writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var refPattern = regexp.MustCompile(`R-[0-9a-f]{6}`)

// loggedWithRef checks that log has the line of ref, with the words of the
// real cause.
func loggedWithRef(t *testing.T, log, ref, cause string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "ref="+ref+" ") {
			if !strings.Contains(line, cause) || !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "retry=false") {
				t.Errorf("the line of %s does not say what failed (%q): %s", ref, cause, line)
			}
			return
		}
	}
	t.Errorf("no log line has ref=%s:\n%s", ref, log)
}

// A student whose home cannot be prepared (Local/ann is a file, not a
// folder) cannot run anything until someone fixes it: the refusal says so,
// and names a reference the log has with the real cause.
func TestHomeThatCannotBePreparedSaysTryingAgainWillNotHelp(t *testing.T) {
	var log syncBuffer
	r, ws := newRunnerLogged(t, registry.DefaultLimits(), workspace.Options{}, &log)
	if err := os.WriteFile(ws.HomePath("ann"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for i := 0; i < 2; i++ { // the same again: a new reference each time, the same words
		_, err := r.REPL(User{Name: "ann"}, "repl", waker(make(chan struct{}, 1)))
		var f *StartFailure
		if !errors.As(err, &f) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("REPL in a home that is a file: %v", err)
		}
		msg, _ := fault.Message(err)
		if f.Retry || msg != f.Message || !strings.Contains(msg, "Trying again will not help: tell your teacher, and give them the reference "+f.Ref+".") ||
			!strings.Contains(msg, "not in your program") || refPattern.FindString(msg) != f.Ref {
			t.Fatalf("refusal %q (ref %q, retry %t)", msg, f.Ref, f.Retry)
		}
		loggedWithRef(t, log.String(), f.Ref, "exists but is not a folder")
		refs[f.Ref] = true
	}
	if len(refs) != 2 {
		t.Errorf("two failures share their reference: %v", refs)
	}
	if n := len(r.reg.ByOwner("ann")); n != 0 {
		t.Fatalf("a refused start holds %d processes", n)
	}
}

// A sandbox that cannot start anything (here: the driver's folder is not
// an absolute path, which the sandbox refuses to mount) fails after
// admission, in the spawn: the "error" message carries the reference, says
// trying again will not help, and the log has the reference with the cause.
func TestBrokenSandboxSpawnSaysTryingAgainWillNotHelp(t *testing.T) {
	var log syncBuffer
	r, ws := newRunnerLogged(t, registry.DefaultLimits(), workspace.Options{}, &log)
	r.opts.DriverDir = "driver" // before any run: nothing reads it yet
	write(t, ws, "ann", "Local/ann/hello.py", "print('hello')\n")
	w := waker(make(chan struct{}, 1))
	sub, err := r.Run(User{Name: "ann"}, "run", "Local/ann/hello.py", w)
	if err != nil {
		t.Fatalf("admission: %v", err)
	}
	ms := collect(t, sub, w, nil)
	m := ms[len(ms)-1]
	if m.Type != protocol.MsgError || m.Code != protocol.CodeUnavailable || m.Retry == nil || *m.Retry ||
		!refPattern.MatchString(m.Ref) || refPattern.FindString(m.Message) != m.Ref ||
		!strings.HasSuffix(m.Message, "Trying again will not help: tell your teacher, and give them the reference "+m.Ref+".") {
		t.Fatalf("a spawn in a broken sandbox ended with %+v", m)
	}
	loggedWithRef(t, log.String(), m.Ref, "must be absolute and clean")
}

// A start that the cleanup service found timed out (StopID with a
// reference) ends with an exit that carries the reference and says that
// trying again may help; a stop for any other reason carries neither.
func TestStopForAServerFailureCarriesItsReference(t *testing.T) {
	r, _ := newRunnerLogged(t, registry.DefaultLimits(), workspace.Options{}, nil)
	for _, tc := range []struct {
		name   string
		reason registry.Reason
		ref    string
	}{
		{"a start that timed out", registry.ReasonError, "R-0a1b2c"},
		{"a teacher's stop", registry.ReasonAdmin, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := waker(make(chan struct{}, 1))
			sub, err := r.REPL(User{Name: "ann"}, "repl", w)
			if err != nil {
				t.Fatal(err)
			}
			ms := messages(t, sub, w)
			for m := range ms {
				if m.Type == protocol.MsgREPLReady {
					break
				}
			}
			ps := r.reg.ByOwner("ann")
			if len(ps) != 1 {
				t.Fatalf("ann has %d processes", len(ps))
			}
			msg := ""
			if tc.ref != "" {
				msg = registry.StartTimeoutMessage(tc.ref)
			}
			if !r.StopID(ps[0].ID, tc.reason, msg, tc.ref) {
				t.Fatal("StopID did not find the REPL")
			}
			var exit protocol.Message
			for m := range ms {
				if m.Type == protocol.MsgExit {
					exit = m
				}
			}
			if exit.Reason != string(tc.reason) || exit.Ref != tc.ref || (exit.Retry != nil) != (tc.ref != "") || (exit.Retry != nil && !*exit.Retry) {
				t.Fatalf("exit %+v (retry %v)", exit, exit.Retry)
			}
			if tc.ref != "" && !strings.Contains(exit.Message, tc.ref) {
				t.Errorf("the message does not give the reference: %q", exit.Message)
			}
		})
	}
}
