package runner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

// cpuWeight reads the CPU weight of pid's cgroup as the host shows it (v2
// cpu.weight, or v1 cpu.shares scaled to it).
func cpuWeight(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var v1, v2 string
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				v1 = parts[2]
			}
		}
		if parts[0] == "0" {
			v2 = parts[2]
		}
	}
	read := func(p string) (int, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		return n, err == nil
	}
	if v1 != "" {
		for _, mount := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
			if n, ok := read(filepath.Join(mount, v1, "cpu.shares")); ok {
				return n * 100 / 1024
			}
		}
	}
	if n, ok := read(filepath.Join("/sys/fs/cgroup", v2, "cpu.weight")); ok {
		return n
	}
	t.Fatalf("no CPU weight for pid %d (v1 %q, v2 %q)", pid, v1, v2)
	return 0
}

// TestStudentsShareTheCPU: a student's busy programs share one busy
// weight, so ann's three busy loops weigh what bob's one does, and a run
// just started weighs ten times a busy one.
func TestStudentsShareTheCPU(t *testing.T) {
	r, ws := newBenchRunner(t, registry.DefaultLimits())
	if r.sb.Layers().CPU == "nice" {
		t.Skip("no cpu controller is the server's on this machine: niceness alone lowers busy programs (TestBackgroundLowersTheWholeTreeOnly in sandbox)")
	}
	start := func(owner, id, source string) *proc {
		t.Helper()
		ws.EnsureHome(owner)
		write(t, ws, owner, "Local/"+owner+"/"+id+".py", source)
		wk := make(waker, 1)
		sub, err := r.Run(User{Name: owner}, id, "Local/"+owner+"/"+id+".py", wk)
		if err != nil {
			t.Fatal(err)
		}
		ms := messages(t, sub, wk)
		for m := range ms {
			if m.Type == protocol.MsgStdout {
				break
			}
		}
		p := r.lookup(owner, id)
		t.Cleanup(func() { r.Stop(owner, id) })
		return p
	}
	const busy, idle = "print('up', flush=True)\nwhile True:\n    pass\n", "print('up', flush=True)\ninput()\n"
	var ann []*proc
	for i := range 3 {
		ann = append(ann, start("ann", fmt.Sprintf("a%d", i), busy))
	}
	bob := start("bob", "b", busy)
	carl := start("carl", "c", idle)
	for _, p := range append(ann, bob) {
		eventually(t, "a busy loop counted busy", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.busy
		})
	}
	r.reweigh("ann") // the last one's reweigh may still be on its way
	annSum := 0
	for _, p := range ann {
		annSum += cpuWeight(t, p.sp.PID())
	}
	b, c := cpuWeight(t, bob.sp.PID()), cpuWeight(t, carl.sp.PID())
	t.Logf("weights: ann's three busy %d together, bob's busy %d, carl's fresh %d", annSum, b, c)
	if annSum > b || annSum < b*9/10 {
		t.Errorf("ann's three busy loops weigh %d together, bob's one %d: want the same", annSum, b)
	}
	if c < 9*b {
		t.Errorf("carl's fresh run weighs %d, a busy loop %d: want ten times", c, b)
	}
}

// BenchmarkFirstOutputBesideBusyLoops measures a student's run → first
// output (warm, as serve runs by default) while another student runs 0, 1
// or 3 busy loops, in one benchmark run so the ratios compare like with
// like. Reported: p50 and p99 of each.
func BenchmarkFirstOutputBesideBusyLoops(b *testing.B) {
	for _, hogs := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("busy=%d", hogs), func(b *testing.B) {
			r, ws := newBenchRunner(b, registry.DefaultLimits())
			r.opts.Warm = 4
			b.Logf("layers: %s", r.sb.Layers())
			for i := range hogs {
				file := fmt.Sprintf("Local/hog/h%d.py", i)
				ws.EnsureHome("hog")
				if _, err := ws.Write(workspace.Actor{Username: "hog"}, file, strings.NewReader("while True:\n    pass\n"), ""); err != nil {
					b.Fatal(err)
				}
				id := fmt.Sprint("h", i)
				if _, err := r.Run(User{Name: "hog"}, id, file, make(waker, 1)); err != nil {
					b.Fatal(err)
				}
				defer r.Stop("hog", id)
			}
			for deadline := time.Now().Add(30 * time.Second); hogs > 0; time.Sleep(10 * time.Millisecond) {
				busy := 0
				r.mu.Lock()
				for _, p := range r.procs {
					p.mu.Lock()
					if p.owner == "hog" && p.busy {
						busy++
					}
					p.mu.Unlock()
				}
				r.mu.Unlock()
				if busy == hogs {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("the busy loops were not counted busy within 30 s")
				}
			}
			runs := firstOutputs(b, r, ws, b.N, nil)
			b.ReportMetric(float64(percentile(runs, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(runs, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// firstOutputs times n runs → first output of student "bench" (each after
// the student's next warm interpreter is ready, when the pool is on),
// calling each before every run.
func firstOutputs(b *testing.B, r *Runner, ws *workspace.Workspace, n int, each func()) []time.Duration {
	if err := ws.EnsureHome("bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := ws.Write(workspace.Actor{Username: "bench"}, "Local/bench/p.py", strings.NewReader("print(1)\n"), ""); err != nil {
		b.Fatal(err)
	}
	r.Connected(User{Name: "bench"})
	defer r.Disconnected("bench")
	var runs []time.Duration
	b.ResetTimer()
	for i := range n {
		if r.opts.Warm > 0 {
			b.StopTimer()
			for deadline := time.Now().Add(30 * time.Second); r.readyWarm("bench") == nil; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("no warm interpreter within 30 s")
				}
			}
			b.StartTimer()
		}
		if each != nil {
			each()
		}
		w := make(waker, 1)
		id := fmt.Sprint("b", i)
		start := time.Now()
		sub, err := r.Run(User{Name: "bench"}, id, "Local/bench/p.py", w)
		if err != nil {
			b.Fatal(err)
		}
		sink := messages(b, sub, w)
		var stderr string
		for m := range sink {
			if m.Type == protocol.MsgStdout {
				runs = append(runs, time.Since(start))
				break
			}
			stderr += m.Data
			if m.Type == protocol.MsgExit || m.Type == protocol.MsgError {
				b.Fatalf("run ended before output: %+v (stderr %q)", m, stderr)
			}
		}
		r.Stop("bench", id)
		for m := range sink {
			if m.Type == protocol.MsgExit {
				break
			}
		}
	}
	b.StopTimer()
	return runs
}
