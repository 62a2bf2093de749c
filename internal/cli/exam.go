package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
)

// examCmd is "pythonide exam …": the exam service the web routes use, on
// the store and workspace directly, as one more instance (named "cli" in
// the start and end claims). Running servers read the exams every 2
// seconds: an exam started here fences its students there within that,
// and their programs are refitted within a second more.
func examCmd(ctx context.Context, env Env, args []string) error {
	subs := "start, list, show, log or end"
	if len(args) == 0 {
		return usageError{"exam needs a subcommand: " + subs}
	}
	sub, args := args[0], args[1:]
	var in exam.Input
	var by, users, instructions, user string
	c, rest, err := loadConfig(env, "exam "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "start":
			fs.Func("title", "a new assignment's title, sat as the exam (without it: sit the existing assignment ID)", setString(&in.Title))
			fs.StringVar(&in.StartsAt, "starts", "", "when it begins, 2026-12-09T09:00 in --time-zone (default: now)")
			fs.StringVar(&in.EndsAt, "ends", "", "when it ends, 2026-12-09T10:30 in --time-zone (or --minutes)")
			fs.IntVar(&in.Minutes, "minutes", 0, "how long it lasts from its start (or --ends)")
			fs.Func("time-zone", "the zone of --starts and --ends, such as Europe/Berlin (default UTC)", setString(&in.TimeZone))
			fs.BoolVar(&in.CourseNotes, "course-notes", false, "let the students read the course folders during it")
			fs.StringVar(&users, "users", "", "comma-separated students (default: every active student)")
			fs.StringVar(&instructions, "instructions", "", "a new assignment's Markdown instructions (a file)")
			fs.Func("starter", "a new assignment's starter folder of the professor's (such as Local/NAME/quiz1)", setString(&in.Starter))
			fs.Func("feedback", `a new assignment's feedback: "all" (every test) or "summary" (the score)`, setString(&in.Feedback))
			fs.StringVar(&by, "by", "", "the professor it belongs to (default: the only professor)")
		case "log":
			fs.StringVar(&user, "user", "", "only this student's events")
		}
	}, config.DataOptions...)
	if err != nil {
		return err
	}
	want := map[string]int{"start": 1, "list": 0, "show": 1, "log": 1, "end": 1}
	n, known := want[sub]
	if !known {
		return usageError{fmt.Sprintf("unknown exam subcommand %q: use %s", sub, subs)}
	}
	if len(rest) != n {
		return usageError{fmt.Sprintf("exam %s: wrong number of arguments (see pythonide help)", sub)}
	}
	st, ws, err := openData(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ws.Close()
	quiet := slog.New(slog.DiscardHandler)
	hw := assignment.New(st, ws, assignment.Options{Dir: filepath.Join(c.DataDir, "submissions"), QuotaBytes: c.QuotaBytes}, quiet)
	exams := exam.New(st, ws, hw, exam.Options{Instance: "cli"}, quiet)
	// The exam's times as its teacher wrote them: in its assignment's zone
	// (read once per exam).
	zones := map[string]string{}
	zoneOf := func(id string) string {
		z, ok := zones[id]
		if !ok {
			z = "UTC"
			if a, err := hw.Get(ctx, id); err == nil && a.TimeZone != "" {
				z = a.TimeZone
			}
			zones[id] = z
		}
		return z
	}
	local := func(id string, t time.Time) string {
		loc, err := time.LoadLocation(zoneOf(id))
		if err != nil {
			loc = time.UTC
		}
		return t.In(loc).Format("2006-01-02T15:04")
	}

	switch sub {
	case "start":
		prof, err := professor(ctx, st, by)
		if err != nil {
			return err
		}
		if in.Title == nil {
			// Without a new assignment's title: the existing one, sat as is.
			if instructions != "" || in.Starter != nil || in.Feedback != nil {
				return usageError{"--instructions, --starter and --feedback describe a new assignment: give its --title too"}
			}
			if _, err := hw.Get(ctx, rest[0]); err != nil {
				return fmt.Errorf("%w (to make a new assignment for the exam, give its --title)", err)
			}
			in.Assignment = rest[0]
		} else {
			in.ID = &rest[0]
		}
		if in.Instructions, err = readText(instructions); err != nil {
			return err
		}
		if in.Users, err = studentsNamed(ctx, st, users); err != nil {
			return err
		}
		e, report, err := exams.Start(ctx, prof, in)
		if err != nil {
			return err
		}
		if report != nil {
			printDistributed(env.Stdout, *report)
		}
		state := "scheduled"
		if !e.OpenedAt.IsZero() {
			state = "open"
		}
		v, err := exams.Get(ctx, e.Assignment)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "exam %s %s: %s to %s (%s), %d student(s); running servers fence them from its start\n",
			e.Assignment, state, local(e.Assignment, e.StartsAt), local(e.Assignment, e.EndsAt), zoneOf(e.Assignment), len(v.Students))
		if report != nil && report.Failed > 0 {
			return fmt.Errorf("%d student(s) did not get the exam folder", report.Failed)
		}
	case "list":
		list, err := exams.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTITLE\tSTARTS\tENDS\tSTATE\tSTUDENTS")
		for _, v := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", v.ID, v.Title, local(v.ID, v.StartsAt), local(v.ID, v.EndsAt), v.State, len(v.Students))
		}
		tw.Flush()
	case "show":
		v, err := exams.Get(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s %q: %s, %s to %s (%s), course notes %s\n", v.ID, v.Title, v.State,
			local(v.ID, v.StartsAt), local(v.ID, v.EndsAt), zoneOf(v.ID), map[bool]string{true: "open", false: "closed"}[v.CourseNotes])
		at := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return local(v.ID, *t)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tCONNECTED\tLAST LOGIN\tLAST SAVE\tLAST RUN\tSAVES\tRUNS\tREFUSED\tHANDED IN")
		for _, l := range v.Live {
			handed := "no"
			switch {
			case l.Final != "":
				handed = "final " + l.Final
			case l.Submitted:
				handed = fmt.Sprintf("%d submission(s)", l.Submissions)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", l.Username, map[bool]string{true: "yes", false: "no"}[l.Connected],
				at(l.LastLogin), at(l.LastSave), at(l.LastRun), l.Saves, l.Runs, l.Denied, handed)
		}
		tw.Flush()
	case "log":
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tUSERNAME\tKIND\tDETAIL")
		for after := int64(0); ; {
			evs, err := exams.Events(ctx, rest[0], user, after, 5000)
			if err != nil {
				return err
			}
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Username, e.Kind, e.Detail)
				after = e.ID
			}
			if len(evs) < 5000 {
				break
			}
		}
		tw.Flush()
	case "end":
		e, err := exams.End(ctx, rest[0])
		if err != nil {
			return err
		}
		if e.FinishedAt.IsZero() {
			// Another instance claimed the end first and is handing in.
			fmt.Fprintf(env.Stdout, "exam %s ended at %s; a running server is handing in the folders\n", e.Assignment, local(e.Assignment, e.EndsAt))
			return nil
		}
		v, err := exams.Get(ctx, rest[0])
		if err != nil {
			return err
		}
		handed := 0
		for _, l := range v.Live {
			if l.Final != "" {
				handed++
			}
		}
		fmt.Fprintf(env.Stdout, "exam %s ended at %s: %d of %d folder(s) handed in, now read-only\n",
			e.Assignment, local(e.Assignment, e.EndsAt), handed, len(v.Live))
	}
	return nil
}
