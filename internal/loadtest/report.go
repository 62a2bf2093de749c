package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// reportVersion changes when a field of the report changes meaning.
const reportVersion = 1

// Report is a load test's result, as written with --json.
type Report struct {
	Version      int          `json:"version"`
	Started      time.Time    `json:"started_at"`
	Config       ReportConfig `json:"config"`
	SetupSeconds float64      `json:"setup_seconds"`
	Elapsed      float64      `json:"elapsed_seconds"`

	Ops      map[Op]OpStats `json:"ops"`
	Actions  map[string]int `json:"actions"`  // how often each action was chosen
	Attempts int64          `json:"attempts"` // steps tried: logins, connections, actions
	// Failures are errors of the server or the connection, by kind;
	// refusals are the product's limits saying no (limit_reached), which
	// is correct behaviour under load and counted apart.
	Failures        map[string]int `json:"failures"`
	FailureCount    int            `json:"failure_count"`
	FailureExamples []string       `json:"failure_examples,omitempty"`
	Refusals        map[string]int `json:"refusals"`
	RefusalCount    int            `json:"refusal_count"`
	ErrorRate       float64        `json:"error_rate"` // failures / attempts

	Output OutputStats `json:"output"`
	// SlowDisconnects counts connections the server closed because the
	// student did not keep up with a program's output; ReplayLost the
	// messages of print floods that left the process's bounded log before
	// the student read them (re-attached, or reading slower than the flood
	// printed). Neither is an anomaly by the API's design, but
	// both show a server (or a load generator) short of CPU.
	SlowDisconnects int64 `json:"slow_disconnects"`
	ReplayLost      int64 `json:"replay_lost_messages"`
	// StopRaces counts stops that crossed the program's own end (the
	// server answered not_found, then the program's exit came): not a
	// failure, a browser sees the same.
	StopRaces int64 `json:"stop_races"`

	Exits    map[string]int `json:"exits"` // "<action>: <reason>" of every run that ended
	Server   *ServerStats   `json:"server,omitempty"`
	Baseline *Baseline      `json:"baseline,omitempty"`
}

// ReportConfig is what was asked for.
type ReportConfig struct {
	URL        string  `json:"url"`
	Users      int     `json:"users"`
	Duration   float64 `json:"duration_seconds"`
	Ramp       float64 `json:"ramp_seconds"`
	Think      float64 `json:"think_seconds"`
	Mix        string  `json:"mix"`
	OpTimeout  float64 `json:"op_timeout_seconds"`
	MaxActions int     `json:"max_actions"`
	Seed       uint64  `json:"seed"`
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{URL: c.URL, Users: c.Users, Duration: c.Duration.Seconds(), Ramp: c.Ramp.Seconds(),
		Think: c.Think.Seconds(), Mix: c.Mix.String(), OpTimeout: c.OpTimeout.Seconds(), MaxActions: c.MaxActions, Seed: c.Seed}
}

// Baseline is the bare interpreter on this machine: python3 -c 'print(1)'.
type Baseline struct {
	Python string  `json:"python"`
	Runs   int     `json:"runs"`
	P50    float64 `json:"p50_ms"`
	Min    float64 `json:"min_ms"`
}

func (lt *test) fill(r *Report) {
	r.Ops = lt.lat.summary()
	r.Actions = lt.actions.snapshot()
	r.Attempts = lt.attempts.Load()
	r.Failures, r.Refusals, r.FailureExamples = lt.errs.snapshot()
	r.FailureCount, r.RefusalCount = sum(r.Failures), sum(r.Refusals)
	if r.Attempts > 0 {
		r.ErrorRate = float64(r.FailureCount) / float64(r.Attempts)
	}
	r.Output = lt.out.snapshot()
	r.SlowDisconnects, r.ReplayLost = lt.slowDrops.Load(), lt.replayLost.Load()
	r.StopRaces = lt.stopRaces.Load()
	r.Exits = lt.exits.snapshot()
}

// Passed is true when nothing failed and every student received exactly
// its own output. Refusals by a limit do not count against it.
func (r *Report) Passed() bool { return r.FailureCount == 0 && r.Output.Anomalies() == 0 }

// WriteJSON writes the report to a file.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Version != reportVersion {
		return nil, fmt.Errorf("%s: report version %d, this program reads %d", path, r.Version, reportVersion)
	}
	return &r, nil
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "%d students for %gs (ramp %gs, think %gs) against %s; mix %s\n",
		c.Users, c.Duration, c.Ramp, c.Think, c.URL, c.Mix)
	fmt.Fprintf(w, "ran %.1fs after %.1fs of setup; %d steps\n\n", r.Elapsed, r.SetupSeconds, r.Attempts)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcount\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	for _, op := range ops {
		s, ok := r.Ops[op]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", op, s.Count, s.P50, s.P95, s.P99, s.Max)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nfailures: %d (error rate %.4f%%)\n", r.FailureCount, 100*r.ErrorRate)
	writeCounts(w, r.Failures)
	for _, e := range r.FailureExamples {
		fmt.Fprintf(w, "    e.g. %s\n", e)
	}
	fmt.Fprintf(w, "refused by a limit: %d\n", r.RefusalCount)
	writeCounts(w, r.Refusals)
	o := r.Output
	fmt.Fprintf(w, "output: %d of %d runs exactly their own (%d lines); foreign %d, missing %d, reordered %d, duplicate %d, stray messages %d, seq gaps %d, unexpected stderr %d\n",
		o.Clean, o.Runs, o.Lines, o.Foreign, o.Missing, o.Reordered, o.Duplicate, o.Stray, o.SeqGaps, o.Stderr)
	for _, e := range o.Examples {
		fmt.Fprintf(w, "    e.g. %s\n", e)
	}
	if r.SlowDisconnects > 0 || r.ReplayLost > 0 {
		fmt.Fprintf(w, "connections closed by the server as too slow: %d (re-attached); flood messages skipped, no longer kept when read: %d\n", r.SlowDisconnects, r.ReplayLost)
	}
	if r.StopRaces > 0 {
		fmt.Fprintf(w, "stops that crossed the program's own end (not_found, then its exit): %d\n", r.StopRaces)
	}
	fmt.Fprintln(w, "runs ended:")
	writeCounts(w, r.Exits)
	if s := r.Server; s != nil {
		if s.Error != "" && len(s.Samples) == 0 {
			fmt.Fprintf(w, "server: not measured: %s\n", s.Error)
		} else {
			fmt.Fprintf(w, "server (pid %d): CPU avg %.1f%% max %.1f%% (100%% = one core); RSS max %s, last %s\n",
				s.PID, s.CPUAvg, s.CPUMax, mib(s.RSSMax), mib(s.RSSLast))
		}
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(w, "bare %s -c 'print(1)': p50 %.1f ms, min %.1f ms (%d runs)\n", b.Python, b.P50, b.Min, b.Runs)
	}
	if r.Passed() {
		fmt.Fprintln(w, "PASS: no failures, every student received exactly its own output")
	} else {
		fmt.Fprintln(w, "FAIL: see failures and output above")
	}
}

func writeCounts(w io.Writer, m map[string]int) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %6d  %s\n", m[k], k)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Compare prints two reports side by side: latencies, errors, output and
// the server's resources, with B's change relative to A.
func Compare(w io.Writer, a, b *Report) {
	fmt.Fprintf(w, "A: %d students, %gs, %s\nB: %d students, %gs, %s\n\n",
		a.Config.Users, a.Config.Duration, a.Started.Format(time.RFC3339),
		b.Config.Users, b.Config.Duration, b.Started.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tA p50\tB p50\tchange\tA p99\tB p99\tchange\tA count\tB count\t")
	for _, op := range ops {
		x, okA := a.Ops[op]
		y, okB := b.Ops[op]
		if !okA || !okB {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t%s\t%s\t\t%d\t%d\t\n", op, orDash(okA, x.P50), orDash(okB, y.P50),
				orDash(okA, x.P99), orDash(okB, y.P99), x.Count, y.Count)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%s\t%d\t%d\t\n", op,
			x.P50, y.P50, change(x.P50, y.P50), x.P99, y.P99, change(x.P99, y.P99), x.Count, y.Count)
	}
	row := func(name string, x, y float64, unit string) {
		fmt.Fprintf(tw, "%s\t%.1f%s\t%.1f%s\t%s\t\t\t\t\t\t\n", name, x, unit, y, unit, change(x, y))
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t")
	row("failures", float64(a.FailureCount), float64(b.FailureCount), "")
	row("refusals", float64(a.RefusalCount), float64(b.RefusalCount), "")
	row("output anomalies", float64(a.Output.Anomalies()), float64(b.Output.Anomalies()), "")
	if a.Server != nil && b.Server != nil {
		row("server CPU avg", a.Server.CPUAvg, b.Server.CPUAvg, "%")
		row("server RSS max", float64(a.Server.RSSMax)/(1<<20), float64(b.Server.RSSMax)/(1<<20), " MiB")
	}
	tw.Flush()
	verdict := func(r *Report) string {
		if r.Passed() {
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "\nA %s, B %s\n", verdict(a), verdict(b))
}

// orDash is "–" for an operation one report never measured.
func orDash(ok bool, v float64) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func change(a, b float64) string {
	switch {
	case a == b:
		return "="
	case a == 0:
		return "new"
	}
	pct := math.Round(100 * (b - a) / a)
	if pct == 0 {
		return "≈"
	}
	return fmt.Sprintf("%+.0f%%", pct)
}
