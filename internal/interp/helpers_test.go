package interp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// eventTimeout is how long a test waits for one event before calling the
// driver stuck; generous because CI machines are loaded, and only a hang
// ever reaches it.
const eventTimeout = 30 * time.Second

// session is a driver run by a real interpreter over real pipes, as the
// runner will run it, minus the sandbox.
type session struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     *Writer
	inPipe *os.File
	events chan result
	cancel context.CancelFunc
	seen   []Event // everything received so far, in order
}

type result struct {
	ev  Event
	err error
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("needs %s (CPython 3.11): %v", python, err)
	}
}

// startScript writes source to main.py in a fresh folder and runs it.
func startScript(t *testing.T, source string) *session {
	t.Helper()
	return startFiles(t, map[string]string{"main.py": source})
}

// startFiles writes files into a fresh folder and runs main.py there.
func startFiles(t *testing.T, files map[string]string) *session {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, dir, filepath.Join(dir, "main.py"))
}

// start runs the driver with cwd dir; script "" is an empty REPL.
func start(t *testing.T, dir, script string) *session {
	t.Helper()
	return startWith(t, dir, func(driver string) []string { return Args(driver, script) })
}

// startWith runs the interpreter with args(driver path) and cwd dir.
func startWith(t *testing.T, dir string, args func(driver string) []string) *session {
	t.Helper()
	needPython(t)
	driver, err := Install(filepath.Join(t.TempDir(), "driver"))
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, python, args(driver)...)
	cmd.Dir = dir
	cmd.Env = Env("HOME=" + dir)
	cmd.Stdout, cmd.Stderr = &strings.Builder{}, &strings.Builder{}
	cmd.ExtraFiles = []*os.File{evW, inR} // fd 3, fd 4
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	evW.Close()
	inR.Close()
	s := &session{t: t, cmd: cmd, in: NewWriter(inW), inPipe: inW, events: make(chan result, 64), cancel: cancel}
	go func() {
		defer evR.Close()
		r := NewReader(evR, 0)
		for {
			ev, err := r.Next()
			s.events <- result{ev, err}
			if err != nil {
				close(s.events)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		_ = cmd.Wait()
	})
	return s
}

// next returns the next event, failing on a protocol error, the end of the
// stream or a hang.
func (s *session) next() Event {
	s.t.Helper()
	select {
	case r, ok := <-s.events:
		if !ok || r.err != nil {
			s.t.Fatalf("no next event: %.300v (%s; process stderr: %s)", r.err, summary(s.seen), s.cmd.Stderr)
		}
		s.seen = append(s.seen, r.ev)
		return r.ev
	case <-time.After(eventTimeout):
		s.t.Fatalf("no event within %v (%s)", eventTimeout, summary(s.seen))
	}
	return Event{}
}

// until reads events until one of type typ, returning everything before it
// merged by stream.
func (s *session) until(typ string) (before []Event, ev Event) {
	s.t.Helper()
	for {
		ev := s.next()
		if ev.Type == typ {
			return merge(before), ev
		}
		before = append(before, ev)
	}
}

func (s *session) send(line string) {
	s.t.Helper()
	if err := s.in.Line(line); err != nil {
		s.t.Fatalf("send %q: %v", line, err)
	}
}

// finish closes the program's input, reads every remaining event and
// returns them merged, with the exit status.
func (s *session) finish() ([]Event, int) {
	s.t.Helper()
	s.inPipe.Close()
	var rest []Event
	for {
		select {
		case r := <-s.events:
			if r.err != nil {
				if !errors.Is(r.err, io.EOF) {
					s.t.Fatalf("event stream ended with %.300v (%s)", r.err, summary(rest))
				}
				err := s.cmd.Wait()
				var exit *exec.ExitError
				switch {
				case err == nil:
					return merge(rest), 0
				case errors.As(err, &exit):
					return merge(rest), exit.ExitCode()
				default:
					s.t.Fatalf("wait: %v", err)
				}
			}
			rest = append(rest, r.ev)
		case <-time.After(eventTimeout):
			s.t.Fatalf("the driver did not end within %v (%s)", eventTimeout, summary(rest))
		}
	}
}

// merge joins consecutive stdout (or stderr) events: how the driver splits
// output into writes is not part of the contract, their order is.
func merge(evs []Event) []Event {
	var out []Event
	var run strings.Builder // the current run's text, joined once: += would be quadratic
	for i, ev := range evs {
		output := ev.Type == TypeStdout || ev.Type == TypeStderr
		if output && i > 0 && evs[i-1].Type == ev.Type {
			run.WriteString(ev.Data)
			continue
		}
		if n := len(out); n > 0 && run.Len() > 0 {
			out[n-1].Data += run.String()
			run.Reset()
		}
		out = append(out, ev)
	}
	if n := len(out); n > 0 && run.Len() > 0 {
		out[n-1].Data += run.String()
	}
	return out
}

func text(evs []Event, typ string) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Type == typ {
			b.WriteString(ev.Data)
		}
	}
	return b.String()
}

// summary describes events for a failure message without flooding it.
func summary(evs []Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events", len(evs))
	for _, ev := range evs[max(0, len(evs)-5):] {
		fmt.Fprintf(&b, "; %s %.80q %q", ev.Type, ev.Data, ev.Prompt)
	}
	return b.String()
}
