package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/roster"
)

func user(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError{"user needs a subcommand: add, import, passwd or list"}
	}
	sub, args := args[0], args[1:]
	var role, fullName string
	var pwStdin bool
	c, rest, err := loadConfig(env, "user "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "add":
			fs.StringVar(&role, "role", "student", "student or professor")
			fs.StringVar(&fullName, "full-name", "", "the person's name as shown to teachers")
			fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input instead of generating one")
		case "passwd":
			fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input instead of generating one")
		}
	}, config.DataOptions...)
	if err != nil {
		return err
	}
	want := map[string]int{"add": 1, "import": 1, "passwd": 1, "list": 0}
	n, known := want[sub]
	if !known {
		return usageError{fmt.Sprintf("unknown user subcommand %q: use add, import, passwd or list", sub)}
	}
	if len(rest) != n {
		return usageError{fmt.Sprintf("user %s takes %d argument(s), got %d", sub, n, len(rest))}
	}
	st, ws, err := openData(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ws.Close()
	r := &roster.Roster{Store: st, Workspace: ws}

	switch sub {
	case "add":
		ro, err := roster.ParseRole(role)
		if err != nil {
			return err
		}
		nu := roster.NewUser{Username: rest[0], Role: ro, FullName: fullName}
		if pwStdin {
			if nu.Password, err = readPasswordLine(env.Stdin); err != nil {
				return err
			}
			if nu.Password == "" {
				return usageError{"--password-stdin: standard input held no password"}
			}
		}
		created, err := r.Create(ctx, nu)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "created %s %s (home Local/%s)\n", created.Role, created.Username, created.Username)
		if created.Password != "" {
			fmt.Fprintf(env.Stdout, "password: %s\n", created.Password)
		}
	case "passwd":
		pw := ""
		if pwStdin {
			if pw, err = readPasswordLine(env.Stdin); err != nil {
				return err
			}
		}
		generated := pw == ""
		if generated {
			pw = roster.GeneratePassword()
		}
		if err := r.SetPassword(ctx, rest[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "password set for %s\n", rest[0])
		if generated {
			fmt.Fprintf(env.Stdout, "password: %s\n", pw)
		}
	case "import":
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := r.Import(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LINE\tUSERNAME\tSTATUS\tDETAIL")
		for _, row := range res.Rows {
			detail := row.Message
			if row.Password != "" {
				detail = "password: " + row.Password
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", row.Line, row.Username, row.Status, detail)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d created, %d skipped, %d failed\n", res.Created, res.Skipped, res.Failed)
		if res.Failed > 0 {
			return fmt.Errorf("%d line(s) of the roster failed", res.Failed)
		}
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tACTIVE\tFULL NAME\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", u.Username, u.Role, u.Active, u.FullName, last)
		}
		tw.Flush()
	}
	return nil
}
