package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// SelfTestResult is how the start-up self-test went.
type SelfTestResult struct {
	OK   bool
	Took time.Duration
	Err  string // what failed, for the operator
}

// selfTestAnswer is the line the self-test types into its program.
const selfTestAnswer = "pythonide-self-test"

// SelfTest runs one tiny program the way a student's is run, before the
// server says it is ready: the driver, every course folder and a home in
// dir (a folder beside the homes, in the data folder, so it has the same
// parents), through every confinement layer. The program asks for a line
// with input() and prints it back. A server on which no student could run
// anything (the sandbox uid cannot reach the data folder, a layer broken
// since the probe) is caught here, not by the first student. The result is
// kept for /health.
func (r *Runner) SelfTest(ctx context.Context, dir string) SelfTestResult {
	start := time.Now()
	err := r.selfTest(ctx, dir)
	res := SelfTestResult{OK: err == nil, Took: time.Since(start)}
	if err != nil {
		res.Err = err.Error()
	}
	r.mu.Lock()
	r.selfTested = &res
	r.mu.Unlock()
	return res
}

// SelfTested is the start-up self-test's result; nil before it ran.
func (r *Runner) SelfTested() *SelfTestResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.selfTested
}

func (r *Runner) selfTest(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Several instances sharing the data folder may test at once: the file
	// appears whole (written aside, then renamed).
	script := filepath.Join(dir, "selftest.py")
	tmp, err := os.CreateTemp(dir, ".selftest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString("print('answer:', input('? '))\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), script)
	}
	if err != nil {
		return err
	}
	l, err := r.layoutAt(dir, "", "")
	if err != nil {
		return err
	}
	events := make(chan interp.Event, 16)
	ended := make(chan struct{})
	defer close(ended)
	in, err := r.spawnInterpreter(sandbox.Spec{
		ID:   "selftest-" + strconv.Itoa(os.Getpid()),
		Args: interp.Args(l.inside(r.opts.DriverPath), l.inside(script)), Dir: l.inside(dir),
	}, l, events, ended)
	if err != nil {
		return err
	}
	sp := in.sp
	defer func() { sp.Kill(); sp.Wait(); in.evR.Close(); in.cmdW.Close() }()
	stop := context.AfterFunc(ctx, func() { sp.Kill() })
	defer stop()
	slow := time.AfterFunc(30*time.Second, func() { sp.Kill() })
	defer slow.Stop()

	// Raw output (bwrap's or Python's own errors) says why it failed.
	var raw strings.Builder
	var rawMu sync.Mutex
	go func() {
		for {
			select {
			case ev := <-events:
				rawMu.Lock()
				raw.WriteString(ev.Data)
				rawMu.Unlock()
			case <-ended:
				return
			}
		}
	}()
	why := func(what string) error {
		e := sp.Wait()
		rawMu.Lock()
		defer rawMu.Unlock()
		return fmt.Errorf("%s (exit %d %s): %s", what, e.Code, e.Signal, strings.TrimSpace(raw.String()))
	}
	var out strings.Builder
	for asked := false; ; {
		ev, err := in.rd.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return why("the program ended before it printed its answer")
		}
		switch ev.Type {
		case interp.TypeInput:
			if asked {
				return errors.New("the program asked for input twice")
			}
			asked = true
			if err := interp.NewWriter(in.cmdW).Line(selfTestAnswer); err != nil {
				return why("the program did not read its input")
			}
		case interp.TypeStdout:
			out.WriteString(ev.Data)
			if strings.Contains(out.String(), "answer: "+selfTestAnswer+"\n") {
				return nil
			}
		case interp.TypeStderr:
			rawMu.Lock()
			raw.WriteString(ev.Data)
			rawMu.Unlock()
		}
	}
}
