package capacity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// Sample student programs. The exercise is what a lesson's exercise costs:
// loops, a list comprehension, string work and sorting, about a third of a
// second of CPU.
const (
	helloProgram    = "print('hello')\n"
	exerciseProgram = `def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True

primes = [n for n in range(2, 60000) if is_prime(n)]
words = "the quick brown fox jumps over the lazy dog".split() * 20000
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
table = sorted((v, k) for k, v in counts.items())
squares = [x * x for x in range(200000)]
print(len(primes), primes[-1], table[-1], sum(squares) % 97)
`
)

// MeasureOptions configure Measure.
type MeasureOptions struct {
	Python  string // default /usr/bin/python3
	Runs    int    // runs of each program; the median is kept; default 5
	Sandbox sandbox.Config
	Log     *slog.Logger
}

// run is one measured run of a program.
type run struct {
	cpuAtPrompt float64       // CPU seconds when the REPL prompt arrived (the program done)
	toPrompt    time.Duration // wall time from spawn to the prompt
	peak        int64         // highest memory seen while it ran
	idle        int64         // memory at the prompt, settled
}

// Measure runs the sample programs through the real sandbox and the real
// interpreter driver, as students' programs run, and reads their usage
// (their cgroup's where there is one). The server's own figures are kept
// from base.
func Measure(ctx context.Context, base Figures, o MeasureOptions) (Figures, error) {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	cfg := o.Sandbox
	if cfg.Python == "" {
		cfg.Python = "/usr/bin/python3"
	}
	if cfg.CgroupName == "" {
		cfg.CgroupName = "pythonide-capacity-" + strconv.Itoa(os.Getpid())
	}
	cfg.AllowUnconfined = true // our own sample programs; only the measuring matters
	sb, err := sandbox.Probe(ctx, cfg, o.Log)
	if err != nil {
		return Figures{}, err
	}
	defer sb.Close()

	dir, err := os.MkdirTemp("", "pythonide-capacity-")
	if err != nil {
		return Figures{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return Figures{}, err
	}
	driver, err := interp.Install(filepath.Join(dir, "driver"))
	if err != nil {
		return Figures{}, err
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o777); err != nil {
		return Figures{}, err
	}
	os.Chmod(home, 0o777) // the sandbox uid writes here
	programs := map[string]string{"hello.py": helloProgram, "exercise.py": exerciseProgram}
	for name, src := range programs {
		if err := os.WriteFile(filepath.Join(home, name), []byte(src), 0o644); err != nil {
			return Figures{}, err
		}
	}

	results := map[string][]run{}
	for i := 0; i < o.Runs; i++ {
		for _, name := range []string{"hello.py", "exercise.py"} {
			r, err := measureOne(ctx, sb, filepath.Join(dir, "driver"), driver, home, name, i)
			if err != nil {
				return Figures{}, fmt.Errorf("measuring %s: %w", name, err)
			}
			results[name] = append(results[name], r)
		}
	}
	hello, exercise := median(results["hello.py"]), median(results["exercise.py"])
	f := base
	f.StartCPUSeconds = hello.cpuAtPrompt
	f.StartSeconds = hello.toPrompt.Seconds()
	f.ExerciseCPUSeconds = max(exercise.cpuAtPrompt-hello.cpuAtPrompt, 0)
	f.ScriptPeakBytes = exercise.peak
	f.REPLIdleBytes = hello.idle
	f.Source = fmt.Sprintf("measured on this machine (%d runs each, median; sandbox layers %s)", o.Runs, sb.Layers())
	return f, nil
}

// measureOne runs one program to its REPL prompt, sampling its usage every
// few milliseconds, then reads its settled idle memory and ends it.
func measureOne(ctx context.Context, sb *sandbox.Sandbox, driverDir, driver, home, name string, i int) (run, error) {
	evR, evW, err := os.Pipe()
	if err != nil {
		return run{}, err
	}
	defer evR.Close()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		evW.Close()
		return run{}, err
	}
	homeAt, driverAt := home, driverDir
	if sb.Remaps() { // where the runner shows them
		homeAt, driverAt = runner.HomeAt, runner.DriverAt
	}
	start := time.Now()
	p, err := sb.Start(sandbox.Spec{
		ID:   fmt.Sprintf("capacity-%d-%s-%d", os.Getpid(), name[:len(name)-3], i),
		Args: interp.Args(filepath.Join(driverAt, filepath.Base(driver)), filepath.Join(homeAt, name)), Dir: homeAt,
		Mounts: []sandbox.Mount{{Host: home, At: homeAt, Write: true}, {Host: driverDir, At: driverAt}},
		Env:    interp.Env("HOME="+homeAt, "MPLCONFIGDIR=/tmp/matplotlib"), ExtraFiles: []*os.File{evW, cmdR},
	})
	evW.Close()
	cmdR.Close()
	if err != nil {
		cmdW.Close()
		return run{}, err
	}
	defer func() {
		cmdW.Close() // end of input: the driver leaves the REPL
		p.Kill()
		p.Wait()
	}()
	prompt := make(chan error, 1)
	go func() {
		rd := interp.NewReader(evR, 8<<20)
		for {
			ev, err := rd.Next()
			if err != nil {
				prompt <- errors.New("the driver ended before its prompt")
				return
			}
			if ev.Type == interp.TypeREPLReady {
				prompt <- nil
				return
			}
		}
	}()
	var r run
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(60 * time.Second)
	for done := false; !done; {
		select {
		case err := <-prompt:
			if err != nil {
				return run{}, err
			}
			done = true
		case <-tick.C:
			if mem, _, err := p.Usage(); err == nil {
				r.peak = max(r.peak, mem)
			}
		case <-timeout:
			return run{}, errors.New("no prompt within 60 s")
		case <-ctx.Done():
			return run{}, ctx.Err()
		}
	}
	r.toPrompt = time.Since(start)
	mem, cpu, err := p.Usage()
	if err != nil {
		return run{}, err
	}
	r.cpuAtPrompt, r.peak = cpu, max(r.peak, mem)
	time.Sleep(300 * time.Millisecond) // let the prompt settle (garbage collected, buffers freed)
	if mem, _, err = p.Usage(); err == nil {
		r.idle = mem
	}
	return r, nil
}

// median takes each figure's median over the runs.
func median(rs []run) run {
	pick := func(get func(run) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return run{
		cpuAtPrompt: pick(func(r run) float64 { return r.cpuAtPrompt }),
		toPrompt:    time.Duration(pick(func(r run) float64 { return float64(r.toPrompt) })),
		peak:        int64(pick(func(r run) float64 { return float64(r.peak) })),
		idle:        int64(pick(func(r run) float64 { return float64(r.idle) })),
	}
}
