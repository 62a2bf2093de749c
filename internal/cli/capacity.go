package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/pythonide/pythonide/internal/capacity"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// capacityCmd prints the CPU and memory a class needs, and the machines
// that fit, from measured per-process figures (--measure: measure them here
// and now, through the real sandbox) and the stated assumptions.
func capacityCmd(ctx context.Context, env Env, args []string) error {
	users := "10,25,38"
	measure, asJSON, runs := false, false, 5
	a := capacity.DefaultAssumptions()
	c, rest, err := loadConfig(env, "capacity", args, func(fs *flag.FlagSet) {
		fs.StringVar(&users, "users", users, "class sizes to answer for, comma-separated")
		fs.BoolVar(&measure, "measure", measure, "measure the per-process figures on this machine by running sample programs in the sandbox (root: cgroup figures)")
		fs.IntVar(&runs, "runs", runs, "with --measure: runs of each sample program (the median is used)")
		fs.BoolVar(&asJSON, "json", asJSON, "print JSON instead of the table")
		fs.Float64Var(&a.RunsPerUserPerMinute, "runs-per-minute", a.RunsPerUserPerMinute, "assumption: runs per student per minute at the busiest")
		fs.Float64Var(&a.InterpretersPerUser, "interpreters-per-user", a.InterpretersPerUser, "assumption: interpreters per student waiting at the prompt")
		fs.Float64Var(&a.BurstShare, "burst-share", a.BurstShare, "assumption: share of the class pressing Run together")
		fs.Float64Var(&a.BurstSeconds, "burst-seconds", a.BurstSeconds, "assumption: within this many seconds")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("capacity takes no arguments, got %q", rest)}
	}
	var sizes []int
	for _, s := range strings.Split(users, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return usageError{fmt.Sprintf("--users %q: want positive numbers, e.g. 10,25,38", users)}
		}
		sizes = append(sizes, n)
	}
	if a.RunsPerUserPerMinute < 0 || a.InterpretersPerUser < 0 || a.BurstShare < 0 || a.BurstShare > 1 || a.BurstSeconds <= 0 {
		return usageError{"the assumptions must be non-negative, --burst-share at most 1 and --burst-seconds positive"}
	}
	f := capacity.Defaults()
	if measure {
		fmt.Fprintln(env.Stderr, "measuring sample programs in the sandbox…")
		f, err = capacity.Measure(ctx, f, capacity.MeasureOptions{Runs: runs, Log: newLogger(c, env.Stderr), Sandbox: sandbox.Config{
			Python: c.Python, MemoryBytes: c.MemoryPerProc, CPUSeconds: c.CPUSeconds, MaxProcs: c.MaxThreads,
			MaxFileBytes: c.MaxFileBytes, UID: c.SandboxUID, GID: c.SandboxUID,
		}})
		if err != nil {
			return fmt.Errorf("measuring: %w", err)
		}
	}
	l := capacity.Limits{MaxPerUser: c.MaxProcsPerUser, MaxTotal: c.MaxProcs, MemoryPerProc: c.MemoryPerProc, MemoryTotal: c.MemoryTotal,
		Warm: c.WarmInterpreters}
	rows := capacity.Rows(sizes, f, a, l)
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"rows": rows, "figures": f, "assumptions": a, "limits": l})
	}
	capacity.Print(env.Stdout, rows, f, a, l)
	return nil
}
