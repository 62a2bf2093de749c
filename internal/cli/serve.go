package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/assist"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/scalein"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/web"
	"github.com/pythonide/pythonide/internal/workspace"
)

// serve wires the whole server in order and undoes it in reverse: config,
// data folder, store, workspace, sessions, HTTP. SIGTERM or SIGINT drains
// requests for up to --shutdown-timeout.
func serve(ctx context.Context, env Env, args []string) error {
	c, rest, err := loadConfig(env, "serve", args, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", rest)}
	}
	log := newLogger(c, env.Stderr)
	var printed strings.Builder
	c.Print(&printed)
	log.Info("configuration", "settings", strings.Fields(printed.String()))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, ws, err := openData(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ws.Close()
	log.Info("data ready", "data", c.DataDir, "database", st.Dialect(), "workspace", c.WorkspaceRoot())

	sessions := auth.NewManager(st, auth.Options{
		TTL: c.SessionTTL, SingleSession: c.SingleSession,
		LoginPerUser: c.LoginPerUser, LoginPerAddr: c.LoginPerAddr, LoginWindow: c.LoginWindow,
		// On PostgreSQL several instances may share the class: failed
		// logins are counted where they all see them.
		SharedThrottle: st.Dialect() == "postgres",
	}, log)
	// Closed after the background work below has stopped writing to it.
	obs := newObservability(c, st, log, env.Stdout)
	defer obs.close()
	bg, cancelBg := context.WithCancel(context.Background())
	var background sync.WaitGroup
	goBackground := func(f func()) { background.Add(1); go func() { defer background.Done(); f() }() }
	defer func() { cancelBg(); background.Wait() }()
	goBackground(func() { sessions.Run(bg, c.ActivityFlush) })

	run, sb, cl, err := startRunner(ctx, c, st, ws, log, goBackground, bg, obs)
	if err != nil {
		return err
	}
	defer sb.Close()
	// The editor's checks and completions: confined workers of their own,
	// beside the programs (ended before the sandbox's cgroups are removed).
	driverDir, _ := filepath.Abs(filepath.Join(c.DataDir, "runtime", "driver")) // installed by startRunner
	helper := assist.New(ctx, sb, ws, assist.Options{DriverDir: driverDir, Checkers: c.AssistWorkers, Completers: c.AssistCompleters, Shared: c.AssistShared}, log)
	defer helper.Close()
	// On ECS, a task that runs programs is kept from scale-in.
	if p := scalein.New(scalein.Options{AgentURI: env.Getenv(scalein.AgentEnv),
		Busy: func() bool { return run.Registry().Stats().Processes > 0 }}, log); p != nil {
		goBackground(func() { p.Run(bg) })
	}
	if cl != nil {
		defer func() {
			lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := cl.Leave(lctx); err != nil {
				log.Warn("leaving the class's instances failed; the others count this one dead after the lease", "err", err)
			}
		}()
	}
	var srv *web.Server
	// drain stops this instance taking anyone new and lets running programs
	// end by themselves for --drain-timeout; whatever runs then is stopped,
	// each student told why. SIGTERM drains, then exits; POST
	// /api/admin/drain drains and keeps serving until it is stopped.
	var drainOnce sync.Once
	drained := make(chan struct{})
	drain := func() {
		drainOnce.Do(func() {
			log.Info("draining: no new students or runs here; running programs may end by themselves", "timeout", c.DrainTimeout)
			srv.SetDraining()
			dctx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
			defer cancel()
			if cl != nil {
				cl.Drain(dctx)
			}
			run.Drain(dctx)
			if n := run.Count(); n > 0 {
				log.Info("drain timeout: stopping the programs still running", "programs", n)
			}
			sctx, cancel2 := context.WithTimeout(context.Background(), c.ShutdownTimeout)
			defer cancel2()
			if err := run.Shutdown(sctx); err != nil {
				log.Warn("drain", "err", err)
			}
			close(drained)
		})
	}

	graderID := "local"
	if cl != nil {
		graderID = cl.ID()
	}
	homework := assignment.New(st, ws, assignment.Options{
		Dir: filepath.Join(c.DataDir, "submissions"), QuotaBytes: c.QuotaBytes, Grader: run, GraderID: graderID,
	}, log)
	goBackground(func() { homework.Run(bg) })
	// Exams open, end and hand in on every instance's clock, each once
	// (claimed in the database); each instance refits its own programs.
	exams := exam.New(st, ws, homework, exam.Options{Instance: graderID, Runner: run}, log)
	goBackground(func() { exams.Run(bg) })

	srv = web.New(web.Deps{
		Assignments: homework, Exams: exams, Assist: helper,
		Config: c, Store: st, Workspace: ws, Auth: sessions, Log: log, Runner: run, Cluster: cl,
		Drain:   func() { go drain() },
		Monitor: obs.mon, Metrics: obs.handler(), Observe: obs.metrics.ObserveHTTP,
		Roster: &roster.Roster{Store: st, Workspace: ws, EndSessions: func(ctx context.Context, u string) error {
			return sessions.EndUserSessions(ctx, u, "")
		}},
	})
	obs.server.Store(srv)
	first, err := (&roster.Roster{Store: st, Workspace: ws}).FirstProfessor(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("cannot make the first teacher account: %w", err)
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", c.Listen, err)
	}
	if c.PprofListen != "" {
		_, stopPprof, err := servePprof(c.PprofListen, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // an upload on a slow school network; slowloris is stopped by the header timeout
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/")
	if first.Username != "" {
		printFirstProfessor(env, first, "http://"+ln.Addr().String()+"/", log)
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain", c.DrainTimeout, "timeout", c.ShutdownTimeout)
	// Students' programs first, so each student is told (reason shutdown)
	// while the connections are still open.
	drain()
	<-drained
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}

// openData prepares the data folder and opens the store and the workspace.
func openData(ctx context.Context, c *config.Config) (*store.Store, *workspace.Workspace, error) {
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("cannot create the data folder: %w", err)
	}
	st, err := store.Open(ctx, c.DatabaseDSN(), store.Options{AllowNetworkFS: c.AllowNetworkSQLite})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the database: %w", err)
	}
	wopts := workspace.Options{MaxFileBytes: c.MaxFileBytes, QuotaBytes: c.QuotaBytes, QuotaFiles: c.QuotaFiles,
		// Beside the workspace, never inside a home: earlier versions of
		// saved files, and what was deleted from homes.
		HistoryDir: filepath.Join(c.DataDir, "history"), TrashDir: filepath.Join(c.DataDir, "trash")}
	if st.Dialect() == "postgres" {
		// Instances sharing the database share the data volume too: a
		// conditional save holds across them.
		wopts.SharedLock = func(key string, fn func() error) error {
			return st.WithLock(context.Background(), "save:"+key, fn)
		}
	}
	if os.Geteuid() == 0 {
		// Students' programs run as the sandbox uid and must be able to
		// write their own home.
		wopts.HomeUID, wopts.HomeGID = c.SandboxUID, c.SandboxUID
	}
	ws, err := workspace.Open(c.WorkspaceRoot(), wopts)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("cannot open the workspace: %w", err)
	}
	return st, ws, nil
}

// printFirstProfessor shows, once, how to log in with the first teacher
// account of a new server (roster.FirstProfessor): the password is shown
// here and nowhere else (the log says only that it was printed).
func printFirstProfessor(env Env, made roster.Created, url string, log *slog.Logger) {
	log.Info("no teacher account existed: made one; its password is printed once on standard output", "username", made.Username)
	fmt.Fprintf(env.Stdout, `
  This server had no teacher account, so it made one:

      open      %s
      username  %s
      password  %s

  It is shown only now. Log in, change the password (Password, top right),
  then add your class under Class → Users. Lost it? Run
      pythonide user passwd %s

`, url, made.Username, made.Password, made.Username)
}
