package loadtest

import (
	"strconv"
	"strings"
	"testing"
)

func lines(nonce string, seqs ...int) string {
	var b strings.Builder
	for _, s := range seqs {
		b.WriteString(linePrefix + nonce + " " + strconv.Itoa(s) + "\n")
	}
	return b.String()
}

func TestCheckerVerdicts(t *testing.T) {
	const me, other = "lt001-ab.3", "lt002-cd.1"
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i + 1
		}
		return s
	}
	cases := []struct {
		name      string
		chunks    []string
		want      int
		truncated bool
		verdict   Result // Lines and Example are not compared
	}{
		{"clean", []string{lines(me, seq(5)...)}, 5, false, Result{}},
		{"clean, split mid-line across messages",
			[]string{"LT " + me + " 1\nLT " + me, " 2\nL", "T " + me + " 3\n"}, 3, false, Result{}},
		{"clean with payloads", []string{"LT " + me + " 1\nLT " + me + " 2 got:t42\n"}, 2, false, Result{}},
		{"another student's line", []string{lines(me, 1, 2), lines(other, 1), lines(me, 3)}, 3, false, Result{Foreign: 1}},
		{"server debug output", []string{lines(me, 1), "DEBUG runner: spawned pid 4242\n", lines(me, 2)}, 2, false, Result{Foreign: 1}},
		{"a nonce that only starts like ours", []string{lines(me+"9", 1), lines(me, 1)}, 1, false, Result{Foreign: 1}},
		{"missing tail", []string{lines(me, 1, 2, 3)}, 5, false, Result{Missing: 2}},
		{"missing middle", []string{lines(me, 1, 2, 5)}, 5, false, Result{Missing: 2}},
		{"reordered", []string{lines(me, 1, 3, 2, 4)}, 4, false, Result{Reordered: 1}},
		{"duplicate", []string{lines(me, 1, 2, 2, 3)}, 3, false, Result{Duplicate: 1}},
		{"more lines than printed", []string{lines(me, 1, 2, 3)}, 2, false, Result{Foreign: 1}},
		{"unfinished last line", []string{lines(me, 1), "LT " + me}, 1, false, Result{Foreign: 1}},
		{"nothing at all", nil, 3, false, Result{Missing: 3}},
		{"truncated by a limit: tail and cut line allowed", []string{lines(me, 1, 2, 3), "LT " + me + " 4"}, 100, true, Result{}},
		{"truncated, but a gap before the cut", []string{lines(me, 1, 3)}, 100, true, Result{Missing: 1}},
		{"truncated, foreign still foreign", []string{lines(me, 1), lines(other, 2)}, 100, true, Result{Foreign: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := NewChecker(me)
			for _, s := range c.chunks {
				ch.Feed(s)
			}
			got := ch.Finish(c.want, c.truncated)
			if got.Foreign != c.verdict.Foreign || got.Missing != c.verdict.Missing ||
				got.Reordered != c.verdict.Reordered || got.Duplicate != c.verdict.Duplicate {
				t.Fatalf("got %+v, want %+v", got, c.verdict)
			}
			if got.Clean() != (c.verdict == Result{}) {
				t.Fatalf("Clean() = %v for %+v", got.Clean(), got)
			}
			if !got.Clean() && got.Example == "" {
				t.Fatal("a bad verdict without an example")
			}
		})
	}
}

func TestCheckerHasAndPayload(t *testing.T) {
	c := NewChecker("n")
	c.Feed("LT n 1\nLT n 3 got:x\nLT n 2")
	if !c.Has(1) || c.Has(2) || !c.Has(3) || c.Has(4) {
		t.Fatalf("Has after 1, 3 (2 unfinished): %v %v %v %v", c.Has(1), c.Has(2), c.Has(3), c.Has(4))
	}
	c.Feed("\n")
	if !c.Has(2) || c.Payload(3) != "got:x" || c.Payload(1) != "" {
		t.Fatalf("Has(2) %v, payload %q", c.Has(2), c.Payload(3))
	}
}

// TestCheckerHugeGapIsBounded: a jump of millions counts as missing without
// remembering every skipped number.
func TestCheckerHugeGapIsBounded(t *testing.T) {
	c := NewChecker("n")
	c.Feed("LT n 1\nLT n 5000000\n")
	if len(c.skipped) > maxGap {
		t.Fatalf("%d skipped numbers remembered", len(c.skipped))
	}
	if r := c.Finish(5000000, false); r.Missing != 5000000-2 {
		t.Fatalf("missing %d", r.Missing)
	}
}

func TestOutputTallyAddsUp(t *testing.T) {
	var o outputTally
	o.run(Result{Lines: 5})
	o.run(Result{Lines: 3, Foreign: 1, Missing: 2, Example: "x"})
	o.other(&o.Stray, "stray")
	s := o.snapshot()
	if s.Runs != 2 || s.Clean != 1 || s.Lines != 8 || s.Foreign != 1 || s.Missing != 2 || s.Stray != 1 || s.Anomalies() != 4 || len(s.Examples) != 2 {
		t.Fatalf("%+v", s)
	}
}

// TestCheckerResync: a jump the caller sanctions (messages the server's
// replay buffer no longer had) is not missing; one it does not is.
func TestCheckerResync(t *testing.T) {
	c := NewChecker("n")
	c.Feed("LT n 1\nLT n 2\nLT n")
	c.Resync()
	c.Feed("LT n 40\nLT n 41\nLT n 43\n")
	r := c.Finish(100, true)
	if r.Missing != 1 || r.Foreign != 0 {
		t.Fatalf("%+v", r)
	}

	// The messages after the gap may begin mid-line: that tail of a line
	// whose start was dropped is not foreign, and the jump is still
	// sanctioned for the first whole line after it.
	c = NewChecker("n")
	c.Feed("LT n 1\nLT n")
	c.Resync()
	c.Feed(" 7 payload\nLT n 9\nLT n 10\n")
	if r := c.Finish(100, true); r.Missing != 0 || r.Foreign != 0 {
		t.Fatalf("a line's tail after a sanctioned gap: %+v", r)
	}
	// Anywhere else such a fragment is foreign.
	c = NewChecker("n")
	c.Feed("LT n 1\n 7 payload\nLT n 2\n")
	if r := c.Finish(2, false); r.Foreign != 1 {
		t.Fatalf("a fragment without a gap: %+v", r)
	}
}
