package assist

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/workspace"
)

// The editor's assistance measured through the real service: real sandbox,
// real /usr/bin/python3 and jedi, 1 student asking as fast as answers come,
// and 38 students typing, each with a home of their own: a check, its
// answer, then the editor's 300 ms pause before the next (and once with no
// pause at all); a completion, its answer, then a second before the next. Reported: the
// latency of a request p50/p99 (what a student waits after the pause),
// and the pool's memory at the end (the RSS of every worker's processes, and
// the cgroups' charge). Completions are measured once every student's
// completer is up and has answered each kind of request once (that
// start, all at once, is first-ms), except with fewer completers than
// students, where homes take turns and completers start all along.
//
//	go test -run '^$' -bench Assist -benchtime 400x ./internal/assist/

// studentFile is a beginner's file of some 40 lines; every other request
// has a syntax error in it (an unclosed bracket), as typing does.
func studentFile(i int) string {
	var b strings.Builder
	b.WriteString("import math\nimport random\n\n")
	for f := range 6 {
		fmt.Fprintf(&b, "def step%d(values, factor=%d):\n    total = 0\n    for v in values:\n        total += v * factor\n    return math.sqrt(total)\n\n", f, f+1)
	}
	b.WriteString("numbers = [random.randint(1, 10) for _ in range(20)]\n")
	if i%2 == 1 {
		b.WriteString("print(step1(numbers)\n")
	} else {
		b.WriteString("print(step1(numbers))\n")
	}
	return b.String()
}

func benchRig(b *testing.B, completers, shared int) (*rig, []workspace.Actor) {
	r := newRig(b, Options{Checkers: 2, Completers: completers, Shared: shared})
	users := make([]workspace.Actor, 38)
	for i := range users {
		users[i] = workspace.Actor{Username: fmt.Sprintf("student%02d", i)}
		if err := r.ws.EnsureHome(users[i].Username); err != nil {
			b.Fatal(err)
		}
		r.write(b, users[i], "Local/"+users[i].Username+"/helpers.py", "def greet(name):\n    \"\"\"Say hello.\"\"\"\n    return 'hi ' + name\n")
	}
	return r, users
}

// load runs n requests spread over users (each user one at a time, with
// pause between their requests) and reports the latency percentiles of
// the requests answered, and how many were skipped. With
// warm, every user first makes one request, all at once (a class opening
// their files), untimed: each of the warmAsks first requests; the time
// until the whole class has its answers is reported as first-ms.
// warmAsks is how many different requests a benchmark makes in turn.
const warmAsks = 4

func load(b *testing.B, r *rig, users []workspace.Actor, pause time.Duration, warm bool, do func(u workspace.Actor, i int) (skipped bool)) {
	per := (b.N + len(users) - 1) / len(users)
	first := time.Duration(-1)
	if warm {
		began := time.Now()
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each kind of request once, until answered: the
				// first of a home may find the helpers busy starting
				// the others.
				for k := range warmAsks {
					for i := 0; i < 20 && do(u, k); i++ {
					}
				}
			}()
		}
		wg.Wait()
		first = time.Since(began)
	}
	var mu sync.Mutex
	var lat []time.Duration
	skipped := 0
	var wg sync.WaitGroup
	b.ResetTimer()
	for ui, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if pause > 0 { // the students do not all start typing at once
				time.Sleep(time.Duration(ui) * pause / time.Duration(len(users)))
			}
			for i := range per {
				began := time.Now()
				s := do(u, i)
				took := time.Since(began)
				mu.Lock()
				if s { // answered at once as skipped: not a latency of an answer
					skipped++
				} else {
					lat = append(lat, took)
				}
				mu.Unlock()
				time.Sleep(pause)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		lat = []time.Duration{0}
	}
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(skipped), "skipped")
	if first >= 0 { // after ResetTimer, which forgets reported metrics
		b.ReportMetric(float64(first.Milliseconds()), "first-ms")
	}
	st := r.s.Stats()
	b.ReportMetric(float64(treeRSS(st.PIDs))/(1<<20), "pool-rss-MiB")
	b.ReportMetric(float64(st.MemoryBytes)/(1<<20), "pool-cgroup-MiB")
	b.ReportMetric(float64(st.Checkers+st.Completers), "workers")
}

func BenchmarkAssistCheck(b *testing.B) {
	for _, c := range []struct {
		users int
		pause time.Duration
	}{{1, 0}, {38, 300 * time.Millisecond}, {38, 0}} {
		b.Run(fmt.Sprintf("users=%d/pause=%s", c.users, c.pause), func(b *testing.B) {
			r, users := benchRig(b, 0, 0)
			files := []string{studentFile(0), studentFile(1)}
			load(b, r, users[:c.users], c.pause, false, func(u workspace.Actor, i int) bool {
				res, err := r.s.Check(context.Background(), u, "Local/"+u.Username+"/main.py", files[i%2])
				if err != nil || (i%2 == 1) != (res.Error != nil) && !res.Skipped {
					b.Errorf("check %d: %+v %v", i, res, err)
				}
				return res.Skipped
			})
		})
	}
}

func BenchmarkAssistComplete(b *testing.B) {
	for _, c := range []struct {
		users, completers, shared int
	}{{1, 8, 0}, {38, 8, 0}, {38, 8, 1}, {38, 8, 2}, {38, 38, 0}} {
		b.Run(fmt.Sprintf("users=%d/completers=%d/shared=%d", c.users, c.completers, c.shared), func(b *testing.B) {
			r, users := benchRig(b, c.completers, c.shared)
			var limited atomic.Int64
			r.needJedi(b)
			pause := time.Second // a completion a second per student typing
			if c.users == 1 {
				pause = 0
			}
			base := studentFile(0)
			asks := []struct{ src, want string }{
				{base + "math.sq", "sqrt"},
				{base + "import helpers\nhelpers.", "greet"},
				{base + "numbers.app", "append"},
				{base + "print(", ""},
			}
			load(b, r, users[:c.users], pause, c.completers >= c.users, func(u workspace.Actor, i int) bool {
				a := asks[i%len(asks)]
				lines := strings.Split(a.src, "\n")
				res, err := r.s.Complete(context.Background(), u, "Local/"+u.Username+"/main.py", a.src, len(lines), len(lines[len(lines)-1])+1)
				if err != nil {
					b.Errorf("complete: %v", err)
					return true
				}
				if res.Limited {
					limited.Add(1)
				}
				// A shared completer sees no home: helpers.py is sent to it
				// (companions), which it can use only with a private /tmp.
				if !res.Skipped && a.want != "" && !(res.Limited && a.want == "greet" && !r.sb.Remaps()) && !slices.Contains(names(res), a.want) {
					b.Errorf("complete %q: %v", a.want, names(res))
				}
				if !res.Skipped && a.want == "" && len(res.Signatures) == 0 {
					b.Errorf("print( has no signature")
				}
				return res.Skipped
			})
			b.ReportMetric(float64(limited.Load()), "limited")
		})
	}
}

// treeRSS sums VmRSS over the processes pids and their descendants.
func treeRSS(pids []int) int64 {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	var total int64
	seen := map[int]bool{}
	var walk func(int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				total += kb << 10
			}
		}
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for _, p := range pids {
		walk(p)
	}
	return total
}
