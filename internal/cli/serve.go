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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/roster"
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
	}, log)
	// Closed after the background work below has stopped writing to it.
	obs := newObservability(c, st, log, env.Stdout)
	defer obs.close()
	bg, cancelBg := context.WithCancel(context.Background())
	var background sync.WaitGroup
	goBackground := func(f func()) { background.Add(1); go func() { defer background.Done(); f() }() }
	defer func() { cancelBg(); background.Wait() }()
	goBackground(func() { sessions.Run(bg, c.ActivityFlush) })

	run, sb, err := startRunner(ctx, c, st, ws, log, goBackground, bg, obs)
	if err != nil {
		return err
	}
	defer sb.Close()

	srv := web.New(web.Deps{
		Config: c, Store: st, Workspace: ws, Auth: sessions, Log: log, Runner: run,
		Monitor: obs.mon, Metrics: obs.handler(), Observe: obs.metrics.ObserveHTTP,
		Roster: &roster.Roster{Store: st, Workspace: ws, EndSessions: func(ctx context.Context, u string) error {
			return sessions.EndUserSessions(ctx, u, "")
		}},
	})
	obs.server.Store(srv)
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", c.Listen, err)
	}
	if c.PprofListen != "" {
		stopPprof, err := servePprof(c.PprofListen, log)
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

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	// Students' programs first, so each student is told (reason shutdown)
	// while the connections are still open.
	if err := run.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
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
	wopts := workspace.Options{MaxFileBytes: c.MaxFileBytes, QuotaBytes: c.QuotaBytes, QuotaFiles: c.QuotaFiles}
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
