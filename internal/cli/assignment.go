package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// assignmentCmd is "pythonide assignment …": the same service the web
// routes use, on the store and workspace directly. It grades nothing
// itself: a submission it queues (regrade) is taken by a running server's
// grader, which looks at the queue in the store every few seconds.
func assignmentCmd(ctx context.Context, env Env, args []string) error {
	subs := "create, test, publish, list, regrade or gradebook"
	if len(args) == 0 {
		return usageError{"assignment needs a subcommand: " + subs}
	}
	sub, args := args[0], args[1:]
	var in assignment.Input
	var by, users, instructions string
	var csvOut bool
	c, rest, err := loadConfig(env, "assignment "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "create":
			fs.Func("title", "the title students see (required)", setString(&in.Title))
			fs.Func("due", "the due date, 2026-12-09T23:59 in --time-zone, or RFC 3339 (required)", setString(&in.DueAt))
			fs.Func("time-zone", "the zone of the due date, such as Europe/Berlin (default UTC)", setString(&in.TimeZone))
			fs.Func("late-minutes", "how long after the due date a submission is still taken, marked late", setInt(&in.LateMinutes))
			fs.StringVar(&instructions, "instructions", "", "a Markdown file with the instructions")
			fs.Func("starter", "a folder of the professor's in the workspace (such as Local/NAME/week1) copied to each student on publish", setString(&in.Starter))
			fs.Func("feedback", `what students see of their grade: "all" (every test) or "summary" (the score)`, setString(&in.Feedback))
			fs.Func("test-seconds", "the time each test file may take (default 10)", setInt(&in.TestSeconds))
			fs.StringVar(&by, "by", "", "the professor it belongs to (default: the only professor)")
		case "publish":
			fs.StringVar(&users, "users", "", "comma-separated students (default: every active student)")
			fs.StringVar(&by, "by", "", "the professor publishing (default: the only professor)")
		case "gradebook":
			fs.BoolVar(&csvOut, "csv", false, "write the CSV export instead of a table")
		}
	}, config.DataOptions...)
	if err != nil {
		return err
	}
	want := map[string][2]int{"create": {1, 1}, "test": {2, -1}, "publish": {1, 1}, "list": {0, 0}, "regrade": {1, 1}, "gradebook": {0, 0}}
	n, known := want[sub]
	if !known {
		return usageError{fmt.Sprintf("unknown assignment subcommand %q: use %s", sub, subs)}
	}
	if len(rest) < n[0] || (n[1] >= 0 && len(rest) > n[1]) {
		return usageError{fmt.Sprintf("assignment %s: wrong number of arguments (see pythonide help)", sub)}
	}
	st, ws, err := openData(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ws.Close()
	hw := assignment.New(st, ws, assignment.Options{Dir: filepath.Join(c.DataDir, "submissions"), QuotaBytes: c.QuotaBytes},
		slog.New(slog.DiscardHandler))

	switch sub {
	case "create":
		prof, err := professor(ctx, st, by)
		if err != nil {
			return err
		}
		if in.Instructions, err = readText(instructions); err != nil {
			return err
		}
		in.ID = &rest[0]
		a, err := hw.Create(ctx, prof, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "created %s %q, due %s (not published: add tests, then \"pythonide assignment publish %s\")\n",
			a.ID, a.Title, assignment.Local(a, a.DueAt), a.ID)
	case "test":
		for _, file := range rest[1:] {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			name := filepath.Base(file)
			if err := hw.PutTest(ctx, rest[0], name, string(b)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(env.Stdout, "test %s of %s: %d bytes\n", name, rest[0], len(b))
		}
	case "publish":
		prof, err := professor(ctx, st, by)
		if err != nil {
			return err
		}
		to, err := studentsNamed(ctx, st, users)
		if err != nil {
			return err
		}
		a, res, err := hw.Publish(ctx, prof, rest[0], to)
		if err != nil {
			return err
		}
		printDistributed(env.Stdout, res)
		fmt.Fprintf(env.Stdout, "published %s: %d copied, %d skipped, %d failed\n", a.ID, res.Copied, res.Skipped, res.Failed)
		if res.Failed > 0 {
			return fmt.Errorf("%d student(s) did not get the starter files", res.Failed)
		}
	case "list":
		as, err := hw.List(ctx, false)
		if err != nil {
			return err
		}
		all, err := hw.Submissions(ctx, "", "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTITLE\tDUE\tSTATE\tTESTS\tSUBMITTED")
		for _, a := range as {
			tests, err := hw.Tests(ctx, a.ID)
			if err != nil {
				return err
			}
			students := map[string]bool{}
			for _, x := range all {
				if x.Assignment == a.ID {
					students[x.Username] = true
				}
			}
			state := "unpublished"
			if !a.PublishedAt.IsZero() {
				state = assignment.State(a, time.Now())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", a.ID, a.Title, assignment.Local(a, a.DueAt), state, len(tests), len(students))
		}
		tw.Flush()
	case "regrade":
		n, err := hw.Regrade(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%d submission(s) of %s queued; a running server grades them\n", n, rest[0])
	case "gradebook":
		b, err := hw.Gradebook(ctx)
		if err != nil {
			return err
		}
		if csvOut {
			return b.CSV(env.Stdout)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "USERNAME")
		for _, a := range b.Assignments {
			fmt.Fprintf(tw, "\t%s", a.ID)
		}
		fmt.Fprintln(tw)
		for _, s := range b.Students {
			fmt.Fprint(tw, s.Username)
			for _, a := range b.Assignments {
				fmt.Fprintf(tw, "\t%s", cellText(s.Cells[a.ID]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	return nil
}

// printDistributed is a distribution's report, a student a line.
func printDistributed(w io.Writer, res workspace.DistributeResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tSTATUS\tFOLDER\tDETAIL")
	for _, o := range res.Users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Username, o.Status, o.Path, o.Reason)
	}
	tw.Flush()
}

// cellText is a gradebook cell as a teacher reads it: "7/10", "7/10 late",
// "queued", or "-" when nothing was handed in.
func cellText(c assignment.Cell) string {
	if c.Submission == "" {
		return "-"
	}
	s := c.State
	if c.State == assignment.Done {
		s = strconv.FormatFloat(c.Score, 'g', -1, 64) + "/" + strconv.FormatFloat(c.MaxScore, 'g', -1, 64)
	}
	if c.Late {
		s += " late"
	}
	return s
}

// professor is the actor a command works as: the one named, or the only
// active professor.
func professor(ctx context.Context, st *store.Store, name string) (workspace.Actor, error) {
	if name != "" {
		u, err := st.GetUser(ctx, name)
		if err != nil || u.Role != store.RoleProfessor || !u.Active {
			return workspace.Actor{}, fmt.Errorf("--by %s: there is no active professor of that name", name)
		}
		return workspace.Actor{Username: u.Username, Professor: true}, nil
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return workspace.Actor{}, err
	}
	var found []string
	for _, u := range users {
		if u.Role == store.RoleProfessor && u.Active {
			found = append(found, u.Username)
		}
	}
	switch len(found) {
	case 1:
		return workspace.Actor{Username: found[0], Professor: true}, nil
	case 0:
		return workspace.Actor{}, fmt.Errorf(`there is no professor yet: add one with "pythonide user add NAME --role professor"`)
	}
	return workspace.Actor{}, usageError{fmt.Sprintf("there are %d professors (%s): say which with --by", len(found), strings.Join(found, ", "))}
}

// studentsNamed is the students a --users list names, or every active
// student when it is empty.
func studentsNamed(ctx context.Context, st *store.Store, users string) ([]string, error) {
	if users == "" {
		return (&roster.Roster{Store: st}).Students(ctx)
	}
	return strings.Split(users, ","), nil
}

// readText is the text of the file at path (an --instructions file), or
// nil when no path is given.
func readText(path string) (*string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func setString(p **string) func(string) error {
	return func(v string) error { *p = &v; return nil }
}

func setInt(p **int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p = &n
		return nil
	}
}
