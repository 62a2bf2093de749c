package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"

	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested()
	os.Exit(m.Run())
}

var benchSeq atomic.Int64

// newBenchRunner builds a runner on the real sandbox with every layer this
// machine has, as serve does.
func newBenchRunner(tb testing.TB, limits registry.Limits) (*Runner, *workspace.Workspace) {
	tb.Helper()
	return newRunnerQuota(tb, limits, workspace.Options{})
}

// newRunnerQuota is newBenchRunner with the quota of wopts on every home.
func newRunnerQuota(tb testing.TB, limits registry.Limits, wopts workspace.Options) (*Runner, *workspace.Workspace) {
	tb.Helper()
	return newRunnerLogged(tb, limits, wopts, nil)
}

// newRunnerLogged is newRunnerQuota whose runner also logs to logTo (when
// set), in the server's text form.
func newRunnerLogged(tb testing.TB, limits registry.Limits, wopts workspace.Options, logTo io.Writer) (*Runner, *workspace.Workspace) {
	tb.Helper()
	dir := tb.TempDir() // private, as a newcomer's data folder may be
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	if logTo != nil {
		out = io.MultiWriter(out, logTo)
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	sb, err := sandbox.Probe(context.Background(), sandbox.Config{
		CgroupName: "pythonide-runnerbench-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(benchSeq.Add(1), 10),
	}, log)
	if err != nil {
		tb.Skipf("no confinement layer: %v", err)
	}
	tb.Cleanup(func() { sb.Close() })
	if !sb.Remaps() && sb.Layers().UIDDrop {
		// Landlock alone stages nothing: as docs/security.md tells
		// operators, the sandbox uid must then walk down to the homes.
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o755)
	}
	if os.Geteuid() == 0 {
		wopts.HomeUID, wopts.HomeGID = sandbox.DefaultUID, sandbox.DefaultUID
	}
	ws, err := workspace.Open(filepath.Join(dir, "ide"), wopts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close() })
	driverDir := filepath.Join(dir, "driver")
	driver, err := interp.Install(driverDir)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.New(limits, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := New(reg, sb, ws, Options{DriverDir: driverDir, DriverPath: driver, ScratchDir: filepath.Join(dir, "runtime", "grading")}, log, nil)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r.Shutdown(ctx)
	})
	return r, ws
}

// waker is a Sink for tests: it only records that there is news.
type waker chan struct{}

func (w waker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// messages pulls sub's messages as they come, until the process's log is done.
func messages(tb testing.TB, sub *Subscription, w waker) <-chan protocol.Message {
	out := make(chan protocol.Message, 1024)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			msgs, _, done := sub.Next(64)
			for _, m := range msgs {
				out <- m
			}
			if done {
				return
			}
			if len(msgs) == 0 {
				select {
				case <-w:
				case <-time.After(60 * time.Second):
					tb.Error("no message for a minute")
					return
				}
			}
		}
	}()
	return out
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkRunToFirstOutput measures run → first stdout message through the
// runner (admission, sandbox with every layer, driver), against a bare
// `/usr/bin/python3 -c 'print(1)'` to its first byte, measured in the same
// run, interleaved so machine noise hits both alike. Reported: p50 and p99
// of each and their ratios. "cold" starts an interpreter for every run;
// "warm" takes the warm interpreter prepared for the connected student
// (as serve does by default), waiting before each run until the next one
// is ready, as it is when a student runs a program seconds after the last.
func BenchmarkRunToFirstOutput(b *testing.B) {
	b.Run("cold", func(b *testing.B) { benchRunToFirstOutput(b, 0) })
	b.Run("warm", func(b *testing.B) { benchRunToFirstOutput(b, 1) })
}

func benchRunToFirstOutput(b *testing.B, warmPool int) {
	r, ws := newBenchRunner(b, registry.DefaultLimits())
	r.opts.Warm = warmPool
	var bare []time.Duration
	runs := firstOutputs(b, r, ws, b.N, func() { bare = append(bare, bareFirstByte(b)) })
	b.StopTimer()
	rp50, rp99 := percentile(runs, 0.5), percentile(runs, 0.99)
	bp50, bp99 := percentile(bare, 0.5), percentile(bare, 0.99)
	b.ReportMetric(float64(rp50.Microseconds())/1000, "run-p50-ms")
	b.ReportMetric(float64(rp99.Microseconds())/1000, "run-p99-ms")
	b.ReportMetric(float64(bp50.Microseconds())/1000, "bare-p50-ms")
	b.ReportMetric(float64(bp99.Microseconds())/1000, "bare-p99-ms")
	b.ReportMetric(float64(rp50)/float64(bp50), "p50-ratio")
	b.ReportMetric(float64(rp99)/float64(bp50), "p99-over-bare-p50")
	b.Logf("layers: %s", r.sb.Layers())
}

func bareFirstByte(tb testing.TB) time.Duration {
	cmd := exec.Command("/usr/bin/python3", "-c", "print(1)")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var one [1]byte
	if _, err := out.Read(one[:]); err != nil {
		tb.Fatal(err)
	}
	d := time.Since(start)
	cmd.Wait()
	return d
}

// BenchmarkIdleREPLServerMemory reports the server-side heap held per idle
// REPL (the program's own memory is in its cgroup, not counted here).
func BenchmarkIdleREPLServerMemory(b *testing.B) {
	const n = 20
	limits := registry.DefaultLimits()
	limits.MaxPerUser = n
	r, ws := newBenchRunner(b, limits)
	ws.EnsureHome("bench")
	r.Connected(User{Name: "bench"})
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		sinks := make([]<-chan protocol.Message, n)
		for j := 0; j < n; j++ {
			w := make(waker, 1)
			id := fmt.Sprint("r", i, "-", j)
			sub, err := r.REPL(User{Name: "bench"}, id, w)
			if err != nil {
				b.Fatal(err)
			}
			sinks[j] = messages(b, sub, w)
			for m := range sinks[j] {
				if m.Type == protocol.MsgREPLReady {
					break
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-bytes/REPL")
		for j := 0; j < n; j++ {
			r.Stop("bench", fmt.Sprint("r", i, "-", j))
			for m := range sinks[j] {
				if m.Type == protocol.MsgExit {
					break
				}
			}
		}
	}
}
