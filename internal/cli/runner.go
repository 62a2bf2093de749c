package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/cluster"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/tracking"
	"github.com/pythonide/pythonide/internal/workspace"
)

// startRunner builds the process side in order: sandbox (probed, leftovers
// of a previous instance reaped), the interpreter driver, the registry, the
// runner, session tracking, and the cleanup service.
func startRunner(ctx context.Context, c *config.Config, st *store.Store, ws *workspace.Workspace, log *slog.Logger,
	goBackground func(func()), bg context.Context, obs *observability) (*runner.Runner, *sandbox.Sandbox, *cluster.Cluster, error) {
	sb, err := sandbox.Probe(ctx, sandbox.Config{
		Python: c.Python, MemoryBytes: c.MemoryPerProc, TotalMemory: c.MemoryTotal,
		CPUSeconds: c.CPUSeconds, MaxProcs: c.MaxThreads, MaxFileBytes: c.MaxFileBytes,
		UID: c.SandboxUID, GID: c.SandboxUID, AllowUnconfined: c.AllowUnconfined, NoNamespaces: c.NoNamespaces,
		CgroupName: c.CgroupName, StudentsCPUMax: c.StudentsCPUMax,
	}, log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	if n, err := cleanup.ReapLeftovers(ctx, sb, log); err != nil {
		log.Warn("reaping programs left by a previous server failed", "err", err)
	} else if n > 0 {
		log.Info("reaped programs left by a previous server", "killed", n)
	}
	sealed, err := exam.SealedFolders(ctx, st, time.Now())
	if err != nil {
		sb.Close()
		return nil, nil, nil, fmt.Errorf("reading the ended exams: %w", err)
	}
	if n, err := ws.AdoptHomes(func(p string) bool { return sealed[p] }); err != nil {
		log.Warn("giving homes to the sandbox user failed; programs may not write their files", "err", err)
	} else if n > 0 {
		log.Info("gave files in homes to the sandbox user", "changed", n)
	}
	driverDir := filepath.Join(c.DataDir, "runtime", "driver")
	driver, err := interp.Install(driverDir)
	if err != nil {
		sb.Close()
		return nil, nil, nil, fmt.Errorf("installing the Python driver: %w", err)
	}
	driverDir, _ = filepath.Abs(driverDir)
	driver, _ = filepath.Abs(driver)
	reg, err := registry.New(registry.Limits{
		MaxActiveUsers: c.MaxActiveUsers, MaxPerUser: c.MaxProcsPerUser, MaxTotal: c.MaxProcs,
		MemoryPerProc: c.MemoryPerProc, MemoryTotal: c.MemoryTotal,
		WallClock: c.WallClock, IdleTimeout: c.IdleTimeout, InputTimeout: c.InputTimeout,
		AbandonGrace: c.AbandonGrace, StartTimeout: 30 * time.Second,
	}, registry.SystemClock{})
	if err != nil {
		sb.Close()
		return nil, nil, nil, err
	}
	if err := obs.attach(reg, sb); err != nil {
		sb.Close()
		return nil, nil, nil, err
	}
	var cl *cluster.Cluster
	opts := runner.Options{
		DriverDir: driverDir, DriverPath: driver, OutputBytes: c.OutputBytes, OutputRate: c.OutputRate,
		Gate: obs.mon.Gate(), Observe: obs.metrics, Warm: c.WarmInterpreters,
		ScratchDir: filepath.Join(c.DataDir, "runtime", "grading"),
	}
	if st.Dialect() == "postgres" {
		// PostgreSQL may be shared by several instances: this one joins
		// the class's membership, admission and homes (one instance alone
		// is a class of one).
		if cl, err = cluster.Join(ctx, st, reg, cluster.Options{
			ID: c.InstanceID, Address: advertised(c), Lease: c.ClusterLease, HomeGrace: c.AbandonGrace,
		}, log); err != nil {
			sb.Close()
			return nil, nil, nil, err
		}
		opts.Cluster = cl
		if err := obs.class(cl); err != nil {
			sb.Close()
			return nil, nil, nil, err
		}
		log.Info("this instance joined the class's instances", "instance", cl.ID(), "advertise", advertised(c), "lease", c.ClusterLease)
	}
	tracker := tracking.NewTracker(reg, st, log)
	run := runner.New(reg, sb, ws, opts, log, tracker.Changed)
	obs.runner.Store(run)
	res := run.SelfTest(ctx, filepath.Join(c.DataDir, "runtime", "selftest"))
	if !res.OK {
		log.Error("start-up self-test: a student's program could not run", "err", res.Err, "layers", sb.Layers().String())
		run.Shutdown(ctx)
		sb.Close()
		return nil, nil, nil, selfTestAdvice(c, sb, res)
	}
	log.Info("start-up self-test: a confined program ran and answered", "took", res.Took.Round(time.Millisecond))
	if cl != nil {
		cl.Present = run.Present
		goBackground(func() { cl.Run(bg) })
	}
	sweeps := cleanup.New(reg, run, c.SweepInterval, log)
	sweeps.Swept = func(ds []cleanup.Decision) { tracker.MarkAll(); obs.swept(ds) }
	goBackground(func() { sweeps.Run(bg) })
	obs.run(goBackground, bg)
	goBackground(func() { tracker.Run(bg, time.Second) })
	log.Info("programs run confined", "layers", sb.Layers().String(), "python", c.Python,
		"memory_per_process", c.MemoryPerProc, "warm_interpreters", c.WarmInterpreters, "max_processes", c.MaxProcs, "sweep", c.SweepInterval)
	return run, sb, cl, nil
}

// advertised is where the other instances reach this one: --advertise, or
// the listen address, with this host's own address when it listens on all.
func advertised(c *config.Config) string {
	if c.Advertise != "" {
		return c.Advertise
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return c.Listen
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return c.Listen
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return net.JoinHostPort(n.IP.String(), port)
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// selfTestAdvice is the one sentence serve refuses to start with when the
// self-test failed: what to change.
func selfTestAdvice(c *config.Config, sb *sandbox.Sandbox, res runner.SelfTestResult) error {
	if strings.Contains(strings.ToLower(res.Err), "permission denied") && sb.Layers().UIDDrop && !sb.Remaps() {
		return fmt.Errorf("students' programs cannot run: they run as uid %d, which cannot reach the data folder %s; "+
			"make every folder above it searchable by others (chmod o+x), move --data to such a place (e.g. /srv/pythonide), "+
			"or let bubblewrap confine programs (installed, without --no-namespaces), which needs neither (self-test: %s)", c.SandboxUID, c.DataDir, res.Err)
	}
	return fmt.Errorf("students' programs cannot run: the start-up self-test failed; see the error after the colon and docs/operations.md: %s", res.Err)
}
