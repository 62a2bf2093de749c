// Package cli is the pythonide command line: it parses the subcommand,
// builds the configuration and hands over to the part that does the work.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/pythonide/pythonide/internal/config"
)

// Env is the outside world a command sees; tests give their own.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

const usage = `pythonide — a browser-based Python IDE for classrooms

Usage:
  pythonide serve [flags]                       run the server
  pythonide user add NAME --role student|professor [--full-name F] [--password-stdin]
  pythonide user import FILE.csv                import a roster (username,password,full_name,role)
  pythonide user passwd NAME [--password-stdin] set a password (a generated one is printed if none is given)
  pythonide user list                           list users
  pythonide assignment create ID --title T --due 2026-12-09T23:59 [--time-zone Z] [--late-minutes N]
                       [--instructions FILE.md] [--starter Local/PROF/FOLDER] [--feedback all|summary] [--test-seconds N]
  pythonide assignment test ID FILE.py…         add or replace test files (test_*.py or *_test.py)
  pythonide assignment publish ID [--users a,b] copy the starter files to the students and open it
  pythonide assignment list                     assignments with state, tests and how many handed in
  pythonide assignment regrade ID               grade every submission again (a running server does it)
  pythonide assignment gradebook [--csv]        students × assignments
  pythonide exam start ID (--minutes N | --ends T) [--starts T] [--time-zone Z] [--users a,b] [--course-notes]
                       [--title T [--instructions FILE.md] [--starter Local/PROF/FOLDER]]
                                                hold an exam: the assignment ID (a new one with --title)
  pythonide exam list                           exams with their window and state
  pythonide exam show ID                        the live view: connected, last save and run, handed in
  pythonide exam log ID [--user U]              every login, save, run and refusal
  pythonide exam end ID                         end it now: every folder handed in and read-only
  pythonide loadtest [--url U] [--users N] [--duration D] [--json FILE]
                                                the classroom load generator (loadtest --help)
  pythonide loadtest compare A.json B.json      compare two load test reports
  pythonide capacity [--users 10,25,38] [--measure]  CPU, RAM and machine size a class needs
  pythonide help                                this text

Every command takes the server's flags (--data, --db, …); "pythonide serve --help" lists them all
with their PYTHONIDE_* environment variables.
`

// Run runs the command in env.Args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, env Env) int {
	if len(env.Args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch cmd, args := env.Args[0], env.Args[1:]; cmd {
	case "serve":
		err = serve(ctx, env, args)
	case "user":
		err = user(ctx, env, args)
	case "assignment":
		err = assignmentCmd(ctx, env, args)
	case "exam":
		err = examCmd(ctx, env, args)
	case "capacity":
		err = capacityCmd(ctx, env, args)
	case "loadtest":
		err = loadtestCmd(ctx, env, args)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "pythonide: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "pythonide: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// loadConfig builds the configuration for a command from its flags and the
// environment; extra lets the command register its own flags first.
func loadConfig(env Env, name string, args []string, extra func(fs *flag.FlagSet), only ...string) (*config.Config, []string, error) {
	c := config.Defaults()
	fs := config.FlagSet(name, c, only...)
	// A command's own flags (--title, --users, …) are read from the
	// command line only: an environment variable of the same name meant
	// for something else must not fill them in.
	server := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { server[config.EnvName(f.Name)] = true })
	if extra != nil {
		extra(fs)
	}
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage of pythonide %s:\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			def, envName := "", config.EnvName(f.Name)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			if server[envName] {
				envName = "  [" + envName + "]"
			} else {
				envName = ""
			}
			fmt.Fprintf(env.Stderr, "  --%s\n      %s%s%s\n", f.Name, f.Usage, def, envName)
		})
	}
	getenv := func(k string) string {
		if !server[strings.TrimSuffix(k, "_FILE")] {
			return ""
		}
		return env.Getenv(k)
	}
	rest, err := config.Load(fs, c, args, getenv)
	return c, rest, err
}

func newLogger(c *config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Main is what cmd/pythonide calls.
func Main() {
	ctx := context.Background()
	os.Exit(Run(ctx, Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}

func readPasswordLine(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if i := strings.IndexAny(pw, "\r\n"); i >= 0 {
		pw = pw[:i]
	}
	return pw, nil
}
