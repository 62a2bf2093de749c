package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/loadtest"
)

// The class's solution and the teacher's ten tests: five unittest methods
// and five assert-style functions, in two files (two sandboxed programs
// per submission).
const (
	benchSolution = `def add(a, b):
    return a + b

def mean(xs):
    return sum(xs) / len(xs)

def words(s):
    return len(s.split())
`
	benchUnitTests = `import unittest
from solution import add, mean

class TestSolution(unittest.TestCase):
    def test_add(self): self.assertEqual(add(2, 3), 5)
    def test_add_neg(self): self.assertEqual(add(-2, -3), -5)
    def test_mean(self): self.assertAlmostEqual(mean([1, 2, 3, 4]), 2.5)
    def test_mean_one(self): self.assertEqual(mean([7]), 7)
    def test_add_str(self): self.assertEqual(add("a", "b"), "ab")
`
	benchPlainTests = `from solution import add, mean, words

def test_words(): assert words("a b  c") == 3
def test_words_empty(): assert words("") == 0
def test_big(): assert add(10**30, 1) == 10**30 + 1
def test_mean_float(): assert abs(mean([0.1, 0.2]) - 0.15) < 1e-9
def test_loop(): assert sum(add(i, i) for i in range(10000)) == 99990000
`
)

// BenchmarkGradeClass measures what grading a whole class costs: 38
// submissions of a 10-test assignment graded by the real server, alone and
// while 38 other students work (the load generator's default mix), and
// what the grading does to those students' save and run → first output
// p50/p99, against a run of the same class with no grading just before
// and just after it. One iteration takes about three minutes:
//
//	go test -run XXX -bench GradeClass -benchtime 1x ./cmd/pythonide
//
// PYTHONIDE_BENCH_SECONDS sets each load phase's length (default 45).
func BenchmarkGradeClass(b *testing.B) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		b.Skip("no /usr/bin/python3 on this machine")
	}
	phase := 45 * time.Second
	if v := os.Getenv("PYTHONIDE_BENCH_SECONDS"); v != "" {
		n, err := time.ParseDuration(v + "s")
		if err != nil {
			b.Fatal(err)
		}
		phase = n
	}
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	b.Setenv("PYTHONIDE_CGROUP_NAME", fmt.Sprintf("pythonide-gradebench-%d", os.Getpid()))
	b.Setenv("PYTHONIDE_DEGRADE_CPU_PERCENT", "0")
	b.Setenv("PYTHONIDE_DEGRADE_MEMORY_PERCENT", "0")

	run := func(args ...string) string {
		out, err := command(b, data, args...).CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	const class = 38
	var roster strings.Builder
	roster.WriteString("username,password,full_name,role\nteacher,teacher-pw-1,Teacher,professor\nloadadmin,loadadmin-pw-1,,professor\n")
	var names []string
	for i := 1; i <= class; i++ {
		n := fmt.Sprintf("s%03d", i)
		names = append(names, n)
		fmt.Fprintf(&roster, "%s,%s-pw-1,,student\n", n, n)
	}
	csv := filepath.Join(dir, "class.csv")
	if err := os.WriteFile(csv, []byte(roster.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	run("user", "import", csv)
	tests := filepath.Join(dir, "tests")
	os.Mkdir(tests, 0o755)
	os.WriteFile(filepath.Join(tests, "test_unit.py"), []byte(benchUnitTests), 0o644)
	os.WriteFile(filepath.Join(tests, "test_plain.py"), []byte(benchPlainTests), 0o644)
	run("assignment", "create", "bench", "--title", "Bench", "--due", "2099-01-01T12:00", "--by", "teacher")
	run("assignment", "test", "bench", filepath.Join(tests, "test_unit.py"), filepath.Join(tests, "test_plain.py"))
	run("assignment", "publish", "bench", "--users", strings.Join(names, ","), "--by", "teacher")

	addr := freeAddr(b)
	startServer(b, data, addr)
	base := "http://" + addr
	teacher := login(b, addr, "teacher", "teacher-pw-1")

	// Every student saves the solution; then all hand it in at once.
	var students []*http.Client
	for _, n := range names {
		c := login(b, addr, n, n+"-pw-1")
		req, _ := http.NewRequest("PUT", base+"/api/files/content?path=Local/"+n+"/bench/solution.py", strings.NewReader(benchSolution))
		benchDo(b, c, req, http.StatusOK)
		students = append(students, c)
	}
	start := time.Now()
	for _, c := range students {
		req, _ := http.NewRequest("POST", base+"/api/assignments/bench/submit", nil)
		benchDo(b, c, req, http.StatusCreated)
	}
	alone := waitGraded(b, teacher, base, class, start)
	b.Logf("grading alone: %d submissions × 10 tests in %.1f s (from the first submission)", class, alone.Seconds())

	// The load generator logs in as a professor of its own: a user has
	// one session, and the teacher's must stay.
	loadArgs := func(name string) []string {
		return []string{"loadtest", "--url", base, "--users", "38", "--duration", phase.String(), "--ramp", "5s", "--seed", "7",
			"--admin-user", "loadadmin", "--admin-password", "loadadmin-pw-1", "--json", filepath.Join(dir, name+".json")}
	}
	load := func(name string) *exec.Cmd {
		cmd := command(b, data, loadArgs(name)...)
		log, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		return cmd
	}
	report := func(name string, cmd *exec.Cmd) *loadtest.Report {
		if err := cmd.Wait(); err != nil {
			out, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		rep, err := loadtest.ReadReport(filepath.Join(dir, name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}

	before := report("before", load("before"))

	// The same class again, the whole class regraded over and over
	// from the moment every student is working until the phase ends.
	busy := load("grading")
	time.Sleep(6 * time.Second)
	var rounds []time.Duration
	phaseEnd := time.Now().Add(phase - time.Second)
	for time.Now().Before(phaseEnd) {
		t0 := time.Now()
		req, _ := http.NewRequest("POST", base+"/api/admin/assignments/bench/regrade", nil)
		benchDo(b, teacher, req, http.StatusAccepted)
		rounds = append(rounds, waitGraded(b, teacher, base, class, t0))
	}
	during := report("grading", busy)
	after := report("after", load("after"))

	var sum time.Duration
	for _, r := range rounds {
		sum += r
	}
	perRound := sum / time.Duration(len(rounds))
	b.Logf("grading under load: %d rounds of %d submissions, %.1f s each on average", len(rounds), class, perRound.Seconds())
	b.Logf("%-8s %-22s %-26s %s", "phase", "save p50/p99 ms", "first output p50/p99 ms", "failures, runs exact")
	for _, p := range []struct {
		name string
		r    *loadtest.Report
	}{{"before", before}, {"grading", during}, {"after", after}} {
		s, f := p.r.Ops[loadtest.OpSave], p.r.Ops[loadtest.OpFirstOutput]
		b.Logf("%-8s %6.1f / %-13.1f %6.1f / %-17.1f %d, %d/%d", p.name, s.P50, s.P99, f.P50, f.P99, p.r.FailureCount, p.r.Output.Clean, p.r.Output.Runs)
	}
	b.ReportMetric(alone.Seconds(), "s/class-alone")
	b.ReportMetric(perRound.Seconds(), "s/class-under-load")
	quiet := (before.Ops[loadtest.OpFirstOutput].P99 + after.Ops[loadtest.OpFirstOutput].P99) / 2
	b.ReportMetric(during.Ops[loadtest.OpFirstOutput].P99/quiet, "first-output-p99-ratio")
	quietSave := (before.Ops[loadtest.OpSave].P99 + after.Ops[loadtest.OpSave].P99) / 2
	b.ReportMetric(during.Ops[loadtest.OpSave].P99/quietSave, "save-p99-ratio")
}

// waitGraded waits until all n submissions of the bench assignment are
// graded, every test passed, and says how long since t0.
func waitGraded(b *testing.B, c *http.Client, base string, n int, t0 time.Time) time.Duration {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := c.Get(base + "/api/admin/assignments/bench/submissions")
		if err != nil {
			b.Fatal(err)
		}
		var body struct {
			Submissions []struct {
				Grade struct {
					State  string
					Passed int
					Total  int
				}
			}
		}
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		done := 0
		for _, x := range body.Submissions {
			if x.Grade.State == "done" {
				if x.Grade.Passed != 10 || x.Grade.Total != 10 {
					b.Fatalf("a submission passed %d of %d tests, want 10 of 10", x.Grade.Passed, x.Grade.Total)
				}
				done++
			}
		}
		if len(body.Submissions) == n && done == n {
			return time.Since(t0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("the class was not graded in 10 minutes")
	return 0
}

func benchDo(b *testing.B, c *http.Client, req *http.Request, want int) {
	b.Helper()
	res, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d, want %d", req.Method, req.URL.Path, res.StatusCode, want)
	}
}
