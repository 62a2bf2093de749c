package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/loadtest"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
)

// loadtestCmd runs the classroom load generator against a running server,
// or compares two of its reports.
func loadtestCmd(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "compare" {
		return loadtestCompare(env, args[1:])
	}
	lc := loadtest.Defaults()
	var mix, jsonPath, adminUser, adminPassword string
	c, rest, err := loadConfig(env, "loadtest", args, func(fs *flag.FlagSet) {
		fs.StringVar(&lc.URL, "url", lc.URL, "the server to load (loopback only, unless --allow-remote)")
		fs.IntVar(&lc.Users, "users", lc.Users, "simulated students")
		fs.DurationVar(&lc.Duration, "duration", lc.Duration, "how long the class works once everyone has arrived")
		fs.DurationVar(&lc.Ramp, "ramp", lc.Ramp, "students arrive evenly over this time")
		fs.DurationVar(&lc.Think, "think", lc.Think, "mean pause between a student's actions (±50 %)")
		fs.StringVar(&mix, "mix", lc.Mix.String(), "weights of the actions: list, open, save, run, reconnect, busy, memory, flood")
		fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file (for loadtest compare)")
		fs.DurationVar(&lc.OpTimeout, "op-timeout", lc.OpTimeout, "the longest any one wait may take")
		fs.IntVar(&lc.MaxActions, "max-actions", lc.MaxActions, "most actions per student (a backstop behind --duration)")
		fs.StringVar(&lc.UserPrefix, "user-prefix", lc.UserPrefix, "students are named <prefix>001, <prefix>002, …")
		fs.BoolVar(&lc.AllowRemote, "allow-remote", false, "allow a --url that is not this machine")
		fs.IntVar(&lc.ServerPID, "server-pid", 0, "the server process to watch (default: the one listening on the --url port)")
		fs.DurationVar(&lc.SampleEvery, "sample", lc.SampleEvery, "how often the server's CPU and memory are read")
		fs.StringVar(&lc.BaselinePython, "baseline-python", lc.BaselinePython, "interpreter timed with -c 'print(1)' for comparison (empty: skip)")
		fs.Uint64Var(&lc.Seed, "seed", 0, "seed for the students' choices (0: random; the report gives the one used)")
		fs.StringVar(&adminUser, "admin-user", "", "create the students through the API as this professor (default: directly in --db/--data)")
		fs.StringVar(&adminPassword, "admin-password", "", "that professor's password (or PYTHONIDE_LOADTEST_ADMIN_PASSWORD)")
	}, config.DataOptions...)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("loadtest takes no arguments, got %q", rest)}
	}
	if lc.Mix, err = loadtest.ParseMix(mix); err != nil {
		return usageError{err.Error()}
	}
	if err := lc.Validate(); err != nil {
		return usageError{err.Error()}
	}
	var prov loadtest.Provisioner = &rosterProvisioner{c: c}
	if adminUser != "" {
		if adminPassword == "" {
			adminPassword = env.Getenv("PYTHONIDE_LOADTEST_ADMIN_PASSWORD")
		}
		if adminPassword == "" {
			return usageError{"--admin-user needs --admin-password or PYTHONIDE_LOADTEST_ADMIN_PASSWORD"}
		}
		prov = loadtest.AdminAPI{URL: lc.URL, Username: adminUser, Password: adminPassword}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, lc, prov, env.Stderr)
	if err != nil {
		return err
	}
	rep.WriteText(env.Stdout)
	if jsonPath != "" {
		if err := rep.WriteJSON(jsonPath); err != nil {
			return err
		}
	}
	if !rep.Passed() {
		return fmt.Errorf("load test failed: %d failures, %d output anomalies", rep.FailureCount, rep.Output.Anomalies())
	}
	return nil
}

func loadtestCompare(env Env, args []string) error {
	if len(args) != 2 {
		return usageError{"loadtest compare takes two report files: A.json B.json"}
	}
	a, err := loadtest.ReadReport(args[0])
	if err != nil {
		return err
	}
	b, err := loadtest.ReadReport(args[1])
	if err != nil {
		return err
	}
	loadtest.Compare(env.Stdout, a, b)
	return nil
}

// rosterProvisioner makes the students directly in the database and data
// folder, as "pythonide user add" does, for when no professor account is
// at hand.
type rosterProvisioner struct{ c *config.Config }

func (p *rosterProvisioner) Provision(ctx context.Context, usernames []string, password string) error {
	st, ws, err := openData(ctx, p.c)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ws.Close()
	r := &roster.Roster{Store: st, Workspace: ws}
	names := make(chan string)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range 2 { // each account costs a password hash: two cores
		wg.Go(func() {
			for n := range names {
				_, err := r.Create(ctx, roster.NewUser{Username: n, Password: password, FullName: loadtest.FullName(n)})
				if errors.Is(err, roster.ErrTaken) {
					err = takeOver(ctx, st, r, n, password)
				}
				if err != nil {
					mu.Lock()
					first = cmpOr(first, fmt.Errorf("student %s: %w", n, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range usernames {
		select {
		case names <- n:
		case <-ctx.Done():
		}
	}
	close(names)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// takeOver resets the password of a student left by an earlier load test,
// and refuses any other account.
func takeOver(ctx context.Context, st *store.Store, r *roster.Roster, name, password string) error {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return err
	}
	if !loadtest.Ours(name, u.FullName, string(u.Role)) {
		return fmt.Errorf("the account exists and was not made by a load test: choose another --user-prefix")
	}
	return r.SetPassword(ctx, name, password)
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
