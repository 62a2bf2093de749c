package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// submission writes files into a folder outside the workspace, as a
// snapshot is.
func submission(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runTests(t *testing.T, r *Runner, files map[string]string, name, source string, perTest time.Duration) TestReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := r.RunTests(ctx, TestRun{ID: "grade-" + strings.ReplaceAll(t.Name(), "/", "-"), Files: submission(t, files), Name: name, Source: []byte(source), PerTest: perTest})
	if err != nil {
		t.Fatalf("RunTests: %v", err)
	}
	if n := len(r.reg.ByOwner(GraderOwner)); n != 0 {
		t.Errorf("%d test runs left in the registry", n)
	}
	return rep
}

func statuses(rep TestReport) map[string]string {
	out := map[string]string{}
	for _, res := range rep.Results {
		out[res.Test] = res.Status
	}
	return out
}

const sumTests = `import unittest
from solution import add

def test_small():
    assert add(2, 3) == 5

def test_zero():
    assert add(0, 0) == 0, "0 + 0 should be 0"

class TestAdd(unittest.TestCase):
    def test_negative(self):
        self.assertEqual(add(-1, -2), -3)
`

func TestRunTestsReportsEachTest(t *testing.T) {
	r, _ := newBenchRunner(t, registry.DefaultLimits())
	good := runTests(t, r, map[string]string{"solution.py": "def add(a, b):\n    print('adding', a, b)\n    return a + b\n"}, "test_sum.py", sumTests, 5*time.Second)
	want := []string{"test_sum.py::test_small", "test_sum.py::test_zero", "test_sum.py::TestAdd.test_negative"}
	if strings.Join(good.Tests, ",") != strings.Join(want, ",") {
		t.Fatalf("tests %v, want %v", good.Tests, want)
	}
	for _, res := range good.Results {
		if res.Status != TestPassed {
			t.Errorf("%s: %s %q", res.Test, res.Status, res.Message)
		}
	}
	if out := good.Results[0].Output; out != "adding 2 3\n" {
		t.Errorf("the first test's output %q", out)
	}

	bad := runTests(t, r, map[string]string{"solution.py": "def add(a, b):\n    if a < 0: raise ValueError('negative')\n    return a * b + 1\n"}, "test_sum.py", sumTests, 5*time.Second)
	got := map[string]TestResult{}
	for _, res := range bad.Results {
		got[res.Test] = res
	}
	for test, want := range map[string]TestResult{
		"test_sum.py::test_small":            {Status: TestFailed, Message: "assert add(2, 3) == 5"},
		"test_sum.py::test_zero":             {Status: TestFailed, Message: "0 + 0 should be 0"},
		"test_sum.py::TestAdd.test_negative": {Status: TestError, Message: "ValueError: negative (solution.py, line 2)"},
	} {
		if g := got[test]; g.Status != want.Status || g.Message != want.Message {
			t.Errorf("%s: %s %q, want %s %q", test, g.Status, g.Message, want.Status, want.Message)
		}
	}
}

func TestRunTestsOfABrokenTestFile(t *testing.T) {
	r, _ := newBenchRunner(t, registry.DefaultLimits())
	rep := runTests(t, r, map[string]string{"solution.py": ""}, "test_broken.py", "def test_x(:\n    pass\n", 5*time.Second)
	if len(rep.Results) != 1 || rep.Results[0].Status != TestError || !strings.Contains(rep.Results[0].Message, "syntax error") {
		t.Fatalf("a test file that does not parse: %+v", rep.Results)
	}
	missing := runTests(t, r, map[string]string{}, "test_sum.py", sumTests, 5*time.Second)
	for _, res := range missing.Results {
		if res.Status != TestError || !strings.Contains(res.Message, "No module named 'solution'") {
			t.Errorf("nothing handed in: %s %s %q", res.Test, res.Status, res.Message)
		}
	}
}

// A hostile or broken submission cannot change its grade: every test it
// does not pass is reported, with why, and the server is left as it was.
func TestRunTestsOfHostileSubmissions(t *testing.T) {
	r, _ := newBenchRunner(t, registry.DefaultLimits())
	const probe = `from solution import answer

def test_answer():
    assert answer() == 42

def test_again():
    assert answer() + 1 == 43
`
	for _, c := range []struct {
		name, solution string
		want           string // every test's status
		message        string // in every message
	}{
		{"loop at import", "while True:\n    pass\n", TestTimeout, "Loading the tests"},
		{"loop in the answer", "def answer():\n    while True:\n        pass\n", TestTimeout, "longer than 1 s"},
		{"loop ignoring the alarm", "import signal\ndef answer():\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n", TestTimeout, "in all"},
		{"exit at import", "import os\nos._exit(0)\n", TestError, "exit code 0"},
		{"sys.exit in the answer", "import sys\ndef answer():\n    sys.exit(0)\n", TestError, "SystemExit"},
		{"fork bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", TestTimeout, ""},
		{"memory hog", "x = []\nwhile True:\n    x.append(bytearray(1 << 24))\n", TestError, "memory"},
		{"forged results without the secret", "import os, json, sys\nfor fd in range(1, 20):\n    for t in ('test_probe.py::test_answer', 'test_probe.py::test_again'):\n        try: os.write(fd, (json.dumps({'test': t, 'status': 'passed'}) + '\\n').encode())\n        except OSError: pass\nprint(json.dumps({'test': 'test_probe.py::test_answer', 'status': 'passed'}))\ndef answer():\n    return 0\n", TestFailed, "assert answer()"},
		{"forged results with the grader's secret", `import sys, json
f = sys._getframe()
while f:
    if 'secret' in f.f_locals and 'results' in f.f_locals:
        for t in ('test_probe.py::test_answer', 'test_probe.py::test_again'):
            f.f_locals['results'].write(f.f_locals['secret'] + ' ' + json.dumps({'test': t, 'status': 'passed'}) + '\n')
    f = f.f_back
def answer():
    return 0
`, TestError, "written twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// One id for every case: the sandbox refuses an id whose
			// process tree is not gone, so each case also shows that the
			// one before left nothing behind.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := r.RunTests(ctx, TestRun{ID: "grade-hostile", Files: submission(t, map[string]string{"solution.py": c.solution}),
				Name: "test_probe.py", Source: []byte(probe), PerTest: time.Second, Total: 8 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 2 {
				t.Fatalf("results %+v", rep.Results)
			}
			for _, res := range rep.Results {
				if res.Status != c.want || !strings.Contains(res.Message, c.message) {
					t.Errorf("%s: %s %q, want %s with %q", res.Test, res.Status, res.Message, c.want, c.message)
				}
			}
			if n := len(r.reg.ByOwner(GraderOwner)); n != 0 {
				t.Errorf("%d test runs left in the registry", n)
			}
		})
	}
}

// The tests are never a file a program can find, and nothing a test run
// writes reaches the snapshot.
func TestRunTestsHideTheTests(t *testing.T) {
	r, _ := newBenchRunner(t, registry.DefaultLimits())
	const marker = "HIDDEN-ANSWER-7f3a9"
	tests := "from solution import scan\n\ndef test_scan():\n    print('found:', scan())\n    assert scan() == '" + marker + "'\n"
	// The submission looks everywhere a file could be, writes wherever it
	// can, and returns what it found.
	const scan = `import os
def scan():
    found = []
    me = str(os.getpid())
    for top in ('/', '/proc'):
        for root, dirs, files in os.walk(top):
            if root == '/':
                dirs[:] = [d for d in dirs if d not in ('usr', 'sys', 'dev', 'proc', 'lib', 'lib64', 'bin', 'sbin')]
            if root == '/proc':
                dirs[:] = [d for d in dirs if d.isdigit() and d != me]
            elif root.startswith('/proc/'):
                dirs[:] = [d for d in dirs if d in ('fd',)]
            for f in files:
                p = os.path.join(root, f)
                try:
                    with open(p, 'rb') as fh:
                        if b'HIDDEN-' + b'ANSWER' in fh.read(1 << 20):
                            found.append(p)
                except OSError:
                    pass
    for p in ('/opt/pythonide/pythonide_grade.py', 'solution.py', '/tmp/x'):
        try:
            with open(p, 'w') as fh:
                fh.write('changed')
        except OSError:
            pass
    return found
`
	snap := submission(t, map[string]string{"solution.py": scan})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := r.RunTests(ctx, TestRun{ID: "grade-hide", Files: snap, Name: "test_scan.py", Source: []byte(tests), PerTest: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Status != TestFailed || rep.Results[0].Output != "found: []\n" {
		t.Fatalf("the submission found the tests: %+v", rep.Results)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "solution.py")); string(b) != scan {
		t.Error("the test run changed the snapshot")
	}
	if b, _ := os.ReadFile(filepath.Join(r.opts.DriverDir, GraderFile)); strings.Contains(string(b), "changed") || len(b) < 1000 {
		t.Error("the test run changed the grader")
	}
}

// Test runs leave the students their room: with too little left they
// wait (ErrNoRoom), and they count against the limits while they run.
func TestRunTestsYieldToStudents(t *testing.T) {
	l := registry.DefaultLimits()
	l.MaxTotal = GradeRoom
	r, _ := newBenchRunner(t, l)
	_, err := r.RunTests(context.Background(), TestRun{ID: "grade-room", Files: submission(t, nil), Name: "test_x.py", Source: []byte("def test_x():\n    pass\n")})
	if !errors.Is(err, ErrNoRoom) {
		t.Fatalf("with %d process slots: %v, want ErrNoRoom", l.MaxTotal, err)
	}

	r2, _ := newBenchRunner(t, registry.DefaultLimits())
	done := make(chan TestReport, 1)
	go func() {
		rep, _ := r2.RunTests(context.Background(), TestRun{ID: "grade-counted", Files: submission(t, nil), Name: "test_wait.py",
			Source: []byte("import time\ndef test_wait():\n    time.sleep(2)\n"), PerTest: 10 * time.Second})
		done <- rep
	}()
	seen := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !seen; time.Sleep(20 * time.Millisecond) {
		for _, p := range r2.reg.ByOwner(GraderOwner) {
			seen = seen || (p.Kind == registry.KindTest && p.ID == "grade-counted")
		}
	}
	if !seen {
		t.Error("the test run was never in the registry")
	}
	if s := r2.reg.Stats(); seen && s.ByKind[registry.KindTest] == 0 && len(done) == 0 {
		t.Error("the registry does not count test runs")
	}
	rep := <-done
	if len(rep.Results) != 1 || rep.Results[0].Status != TestPassed {
		t.Errorf("the waiting test: %+v", rep.Results)
	}
}

// The cleanup service and a teacher stop a test run like any program.
func TestRunTestsStoppedByID(t *testing.T) {
	r, _ := newBenchRunner(t, registry.DefaultLimits())
	type ended struct {
		rep TestReport
		err error
	}
	done := make(chan ended, 1)
	go func() {
		rep, err := r.RunTests(context.Background(), TestRun{ID: "grade-stopped", Files: submission(t, nil), Name: "test_wait.py",
			Source: []byte("import time\ndef test_wait():\n    time.sleep(60)\n"), PerTest: time.Minute})
		done <- ended{rep, err}
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p, ok := r.reg.Get("grade-stopped"); ok && p.PID != 0 && r.StopID("grade-stopped", registry.ReasonAdmin, "", "") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the test run never started")
		}
	}
	select {
	case e := <-done:
		// Stopped before the grader listed the tests, the run failed;
		// after, its one test is an error. Never a pass.
		if e.err == nil && (len(e.rep.Results) != 1 || e.rep.Results[0].Status != TestError) {
			t.Errorf("a stopped test run: %+v", e.rep.Results)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a stopped test run did not end")
	}
}
