package capacity

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Row is an estimate with the machines that fit it.
type Row struct {
	Estimate
	Fargate, EC2 string
	// FargateWorst fits the worst case the limits allow (every admitted
	// process at its memory limit), kept under the memory target: the size
	// on which the kernel never has to choose what to kill.
	FargateWorst string
}

// Rows computes the estimates for each class size and fits machines.
func Rows(users []int, f Figures, a Assumptions, l Limits) []Row {
	out := make([]Row, 0, len(users))
	for _, n := range users {
		e := Compute(n, f, a, l)
		r := Row{Estimate: e, Fargate: "none large enough", EC2: "none listed", FargateWorst: "none large enough"}
		gb := float64(e.MemoryBytes) / (1 << 30)
		if s, ok := Fargate(e.Cores, gb); ok {
			r.Fargate = fmt.Sprintf("%g vCPU / %g GB", s.VCPU, s.Memory)
		}
		if s, ok := EC2(e.Cores, gb); ok {
			r.EC2 = s.Name
		}
		if s, ok := Fargate(e.Cores, float64(e.WorstCaseBytes)/a.MemoryTarget/(1<<30)); ok {
			r.FargateWorst = fmt.Sprintf("%g vCPU / %g GB", s.VCPU, s.Memory)
		}
		out = append(out, r)
	}
	return out
}

func gb(b int64) string { return fmt.Sprintf("%.1f GB", float64(b)/(1<<30)) }
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/MiB) }

// Print writes the table, then the figures and assumptions it rests on.
func Print(w io.Writer, rows []Row, f Figures, a Assumptions, l Limits) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Users\tCPU needed\tRAM needed\tFargate task\tEC2 instance\tsteady / burst cores\tprocesses\tworst case RAM (limits)\tFargate for the worst case")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.1f cores\t%s\t%s\t%s\t%.2f / %.2f\t%.0f idle + %.1f running\t%s\t%s\n",
			r.Users, r.Cores, gb(r.MemoryBytes), r.Fargate, r.EC2, r.SteadyCores, r.BurstCores,
			float64(r.Users)*a.InterpretersPerUser, r.RunningAtOnce, gb(r.WorstCaseBytes), r.FargateWorst)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nPer-process figures (%s):\n", f.Source)
	fmt.Fprintf(w, "  start (interpreter + driver, to the prompt): %.3f s CPU, %.3f s wall\n", f.StartCPUSeconds, f.StartSeconds)
	fmt.Fprintf(w, "  typical exercise: %.3f s CPU beyond the start, peak %s\n", f.ExerciseCPUSeconds, mb(f.ScriptPeakBytes))
	fmt.Fprintf(w, "  interpreter idle at the prompt: %s\n", mb(f.REPLIdleBytes))
	fmt.Fprintf(w, "Server (estimated from its buffers, not measured here): %s base + %s per user + %s per process; %.2f core base + %.3f core per busy user\n",
		mb(f.ServerBaseBytes), mb(f.ServerPerUserBytes), mb(f.ServerPerProcBytes), f.ServerBaseCores, f.ServerPerUserCores)
	fmt.Fprintln(w, "Assumptions (the busiest part of a lesson):")
	fmt.Fprintf(w, "  every user runs a program %.1f times a minute; %.1f interpreters per user wait at the prompt\n", a.RunsPerUserPerMinute, a.InterpretersPerUser)
	fmt.Fprintf(w, "  burst: %.0f%% of the class presses Run within %.0f s, absorbed without queueing\n", 100*a.BurstShare, a.BurstSeconds)
	fmt.Fprintf(w, "  CPU kept under %.0f%% and memory under %.0f%% (the alarm and degradation lines)\n", 100*a.CPUTarget, 100*a.MemoryTarget)
	fmt.Fprintf(w, "  worst case: every admitted process (%d per user, %d in all) at its %s limit, capped at %s in total\n",
		l.MaxPerUser, l.MaxTotal, mb(l.MemoryPerProc), gb(l.MemoryTotal))
	if l.Warm > 0 {
		fmt.Fprintf(w, "  plus up to %d warm interpreters (one per connected user) at the idle interpreter's memory, in both\n", l.Warm)
	}
	fmt.Fprintln(w, strings.TrimSpace(`
Heavier exercises (numpy, matplotlib) cost more per run: measure them with --measure on your own
programs' machine, or raise --runs-per-minute. The limits bound the worst case whatever students run.`))
}
