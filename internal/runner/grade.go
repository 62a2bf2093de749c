package runner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// GraderOwner owns every test run in the registry. It is no username (a
// username starts with a letter or a digit), so test runs never count
// against a student's or a teacher's own limit, and the class's live table
// names them for what they are.
const GraderOwner = "_grader"

// GraderFile is the grader's file name beside the driver (interp.Install).
const GraderFile = "pythonide_grade.py"

// The results of one test.
const (
	TestPassed  = "passed"
	TestFailed  = "failed"
	TestError   = "error"
	TestTimeout = "timeout"
)

// ErrNoRoom is the kind of RunTests's refusal when the server has too
// little room left for a test run beside the students' own: the grader
// waits and tries again (tests yield to interactive runs).
var ErrNoRoom = errors.New("runner: no room for a test run now")

// GradeRoom is the room a test run leaves for students: it starts only
// while this many more processes and programs' worth of memory would still
// be admitted after it.
const GradeRoom = 2

// TestRun is one teacher's test file run against a submission.
type TestRun struct {
	ID      string // unique on the server; names the process and its cgroup
	Files   string // host folder of the submission's files; only read (the run gets a scratch copy)
	Name    string // the test file's name, e.g. test_sum.py
	Source  []byte
	PerTest time.Duration // each test's wall clock (and the loading of the file)
	// Total bounds the whole file's run; default PerTest × (tests + 2),
	// at most 10 minutes.
	Total time.Duration
}

// TestResult is one test's outcome.
type TestResult struct {
	Test    string `json:"test"` // file.py::name or file.py::Class.method
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Output  string `json:"output,omitempty"` // what it printed, bounded
}

// TestReport is a test file's run: the tests its source defines (parsed
// before any of it ran) and a result for each of them, in that order.
type TestReport struct {
	Tests   []string
	Results []TestResult
}

// RunTests runs one test file against a submission in the sandbox, as a
// program of GraderOwner of kind test: admitted against the class's limits
// (and only with GradeRoom to spare, else ErrNoRoom), reaped by the cleanup
// service like any run, at the lowest CPU weight and niceness, with its own
// wall clock. The submission's files are copied into a scratch home first,
// so nothing a test run writes changes the snapshot or the next test file's
// run; the test source reaches the grader on its stdin and is never a file.
//
// A hostile submission can fail its own tests in every way (loop, fork,
// exhaust memory, exit, print): each listed test then gets a result that
// says so. The results come back on the grader's own channel, each line
// marked with a secret of this run; a test reported twice is an error.
func (r *Runner) RunTests(ctx context.Context, t TestRun) (TestReport, error) {
	if r.opts.ScratchDir == "" {
		return TestReport{}, errors.New("runner: no scratch folder for test runs")
	}
	if t.PerTest <= 0 {
		t.PerTest = 10 * time.Second
	}
	if err := r.roomForTests(); err != nil {
		return TestReport{}, err
	}
	scratch := filepath.Join(r.opts.ScratchDir, t.ID)
	os.RemoveAll(scratch) // a previous server's, stopped mid-run
	defer os.RemoveAll(scratch)
	if err := r.scratchCopy(t.Files, scratch); err != nil {
		return TestReport{}, fmt.Errorf("runner: copying the submission for its tests: %w", err)
	}
	l, err := r.layoutAt(scratch, "", "")
	if err != nil {
		return TestReport{}, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	token := hex.EncodeToString(secret)

	began := time.Now()
	req := registry.Request{ID: t.ID, Owner: GraderOwner, Path: t.Name, Kind: registry.KindTest}
	r.reg.Connected(GraderOwner) // the grader is there while it waits: never abandoned
	defer r.reg.Disconnected(GraderOwner)
	if c := r.opts.Cluster; c != nil {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Admit(actx, req, r.reg.Limits())
		cancel()
		if err != nil {
			return TestReport{}, fault.New(ErrNoRoom, "The class is at its limits: %v", err)
		}
		defer c.Ended(t.ID)
	}
	if _, err := r.reg.Admit(req); err != nil {
		return TestReport{}, fault.New(ErrNoRoom, "The server is at its limits: %v", err)
	}
	reason := registry.ReasonExited
	defer func() {
		r.reg.Remove(t.ID)
		if r.opts.Observe != nil {
			r.opts.Observe.Ended(registry.KindTest, reason)
		}
	}()

	out := &resultLines{token: token, file: t.Name, max: 4 << 20}
	stderr := sandbox.Capture{Max: 8 << 10}
	stdin := append([]byte(token+"\n"), t.Source...)
	sp, err := r.sb.Start(sandbox.Spec{
		ID:     t.ID,
		Args:   []string{l.inside(filepath.Join(r.opts.DriverDir, GraderFile)), t.Name, strconv.FormatFloat(t.PerTest.Seconds(), 'f', 3, 64)},
		Dir:    l.inside(scratch),
		Mounts: l.mounts,
		Env:    interp.Env("HOME="+l.inside(scratch), "MPLCONFIGDIR=/tmp/matplotlib", "MPLBACKEND=Agg"),
		Stdin:  bytes.NewReader(stdin), Stdout: out, Stderr: &stderr,
		Nice: 19,
	})
	if err != nil {
		reason = registry.ReasonError
		return TestReport{}, fmt.Errorf("runner: starting a test run: %w", err)
	}
	sp.Weigh(1)
	if err := r.reg.Started(t.ID, sp.PID(), sp.StartTime()); err != nil {
		sp.Kill() // swept meanwhile
	}
	if r.opts.Observe != nil {
		r.opts.Observe.Started(registry.KindTest, time.Since(began))
	}
	r.mu.Lock()
	r.tests[t.ID] = sp
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.tests, t.ID)
		r.mu.Unlock()
	}()

	total := t.Total
	if total <= 0 {
		total = min(t.PerTest*time.Duration(strings.Count(string(t.Source), "def test")+2), 10*time.Minute)
	}
	var overTime, stopped bool
	var mu sync.Mutex
	timer := time.AfterFunc(total, func() { mu.Lock(); overTime = true; mu.Unlock(); sp.Kill() })
	defer timer.Stop()
	unwatch := context.AfterFunc(ctx, func() { mu.Lock(); stopped = true; mu.Unlock(); sp.Kill() })
	defer unwatch()
	exit := sp.Wait()
	mu.Lock()
	late, cancelled := overTime, stopped
	mu.Unlock()
	reason = exitReason("", exit)
	if cancelled {
		return TestReport{}, ctx.Err()
	}
	r.mu.Lock()
	closing := r.closing
	r.mu.Unlock()
	if closing { // stopped by the shutdown, not by anything of the submission's
		return TestReport{}, fault.New(ErrNoRoom, "This server is stopping.")
	}
	rep, ok := out.report()
	if !ok {
		reason = registry.ReasonError
		return TestReport{}, fmt.Errorf("runner: the grader reported nothing (exit %d %s): %s", exit.Code, exit.Signal, stderr.String())
	}
	rep.fill(late, total, exit)
	return rep, nil
}

// roomForTests refuses a test run unless GradeRoom processes and memory
// would be left for students after it.
func (r *Runner) roomForTests() error {
	s := r.reg.Stats()
	if s.Headroom.Processes <= GradeRoom || s.Headroom.MemoryBytes < int64(GradeRoom+1)*s.Limits.MemoryPerProc ||
		s.Headroom.Users <= 1 {
		return fault.New(ErrNoRoom, "The students' programs need the room now.")
	}
	r.mu.Lock()
	closing := r.closing || r.draining
	r.mu.Unlock()
	if closing {
		return fault.New(ErrNoRoom, "This server is stopping.")
	}
	return nil
}

// scratchCopy copies the regular files and folders under src into dst,
// owned by the programs' user: the test run's home.
func (r *Runner) scratchCopy(src, dst string) error {
	uid, gid := r.sb.ProgramUser()
	if err := os.MkdirAll(filepath.Dir(dst), 0o711); err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if err := os.Chown(dst, uid, gid); err != nil && os.Geteuid() == 0 {
		return err
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			err = os.Mkdir(to, 0o700)
		case d.Type().IsRegular():
			err = copyFile(root, p, to)
		default:
			return nil // a snapshot holds none; never follow one
		}
		if err == nil && os.Geteuid() == 0 {
			err = os.Lchown(to, uid, gid)
		}
		return err
	})
}

func copyFile(root *os.Root, p, to string) error {
	in, err := root.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fill gives every listed test without a result one that says why, and
// keeps only the listed tests' results, in their order.
func (rep *TestReport) fill(overTime bool, total time.Duration, exit sandbox.Exit) {
	got := map[string]TestResult{}
	for _, res := range rep.Results {
		got[res.Test] = res
	}
	missing := TestResult{Status: TestError, Message: endedEarly(exit)}
	if overTime {
		missing = TestResult{Status: TestTimeout, Message: fmt.Sprintf("The tests took longer than %s in all.", total.Round(time.Second))}
	}
	rep.Results = rep.Results[:0]
	for _, name := range rep.Tests {
		res, ok := got[name]
		if !ok {
			res = missing
			res.Test = name
		}
		rep.Results = append(rep.Results, res)
	}
}

func endedEarly(exit sandbox.Exit) string {
	switch exit.Reason {
	case sandbox.ReasonMemory:
		return "The program used more memory than it may, so the tests stopped before this one finished."
	case sandbox.ReasonCPU:
		return "The program used more CPU time than it may, so the tests stopped before this one finished."
	}
	if exit.Signal != "" {
		return "The tests stopped (" + exit.Signal + ") before this one finished."
	}
	return fmt.Sprintf("The tests stopped (exit code %d) before this one finished: the program may have called exit().", exit.Code)
}

// resultLines collects the grader's result lines, marked with token, up to
// max bytes. Lines without the token are not the grader's and are ignored.
type resultLines struct {
	token string
	file  string // the test file's name: its one result when it lists no test
	max   int

	mu  sync.Mutex
	buf []byte
}

func (w *resultLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(b) > w.max {
		return len(b), nil // past the bound: the tests not reported get a result saying why
	}
	w.buf = append(w.buf, b...)
	return len(b), nil
}

// report reads what the grader said: its list of tests (the first list
// only, written before any test ran) and one result per listed test. A
// test reported twice was forged by the program: it is an error whatever
// either line said. ok is false when there was no list at all.
func (w *resultLines) report() (rep TestReport, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	listed := map[string]bool{}
	results := map[string]TestResult{}
	twice := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(w.buf))
	sc.Buffer(make([]byte, 64<<10), w.max)
	for sc.Scan() {
		line, found := strings.CutPrefix(sc.Text(), w.token+" ")
		if !found {
			continue
		}
		var m struct {
			Tests *[]string `json:"tests"`
			TestResult
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch {
		case m.Tests != nil:
			if !ok {
				ok = true
				for _, name := range *m.Tests {
					if !listed[name] {
						listed[name] = true
						rep.Tests = append(rep.Tests, name)
					}
				}
			}
		case m.Test != "" && ok:
			if _, seen := results[m.Test]; seen {
				twice[m.Test] = true
			}
			switch m.Status {
			case TestPassed, TestFailed, TestError, TestTimeout:
			default:
				m.Status = TestError
			}
			results[m.Test] = m.TestResult
		}
	}
	for _, name := range rep.Tests {
		res, has := results[name]
		if !has {
			continue
		}
		if twice[name] {
			res = TestResult{Test: name, Status: TestError, Message: "This test's result was written twice: a program may not write the grader's results."}
		}
		rep.Results = append(rep.Results, res)
	}
	if res, has := results[w.file]; has && len(rep.Tests) == 0 && !twice[w.file] {
		// A file whose source could not be parsed says so as its one result.
		rep.Tests, rep.Results = []string{w.file}, []TestResult{res}
	}
	return rep, ok
}
