package loadtest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Every line a load-test program prints is "LT <nonce> <seq>[ <payload>]":
// the nonce is unique to one student's run, seq counts from 1. The checker
// reads a run's stdout as it arrives and finds output that is foreign
// (another nonce, or text the program never printed), missing, reordered or
// duplicated.
const linePrefix = "LT "

// maxGap bounds how many skipped lines one run remembers individually (to
// recognise them if they arrive late); a bigger jump is counted missing.
const maxGap = 4096

// Checker checks one run's stdout. It is not safe for concurrent use.
type Checker struct {
	nonce    string
	partial  string
	next     int          // the next seq expected in order
	skipped  map[int]bool // jumped over, not seen yet
	lost     int          // jumped over beyond maxGap
	resync   bool         // the next line may jump ahead
	payloads map[int]string

	lines, foreign, reordered, duplicate int
	example                              string
}

// NewChecker checks the output of the run with this nonce.
func NewChecker(nonce string) *Checker {
	return &Checker{nonce: nonce, next: 1, skipped: map[int]bool{}, payloads: map[int]string{}}
}

// Feed adds stdout text as it arrived; lines may be split across calls.
func (c *Checker) Feed(data string) {
	data = c.partial + data
	for {
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		c.line(data[:i])
		data = data[i+1:]
	}
	c.partial = data
}

func (c *Checker) bad(kind *int, format string, args ...any) {
	*kind++
	if c.example == "" {
		c.example = fmt.Sprintf(format, args...)
	}
}

func (c *Checker) line(l string) {
	c.lines++
	resync := c.resync
	c.resync = false
	rest, ok := strings.CutPrefix(l, linePrefix)
	nonce, rest, _ := strings.Cut(rest, " ")
	seqText, payload, _ := strings.Cut(rest, " ")
	seq, err := strconv.Atoi(seqText)
	switch {
	case resync && (!ok || err != nil || seq < 1) && !strings.HasPrefix(l, linePrefix):
		// The tail of a line whose start the server dropped with the
		// messages before it: the jump is still to come.
		c.lines--
		c.resync = true
		return
	case !ok || err != nil || seq < 1:
		c.bad(&c.foreign, "run %s got a line it never printed: %.120q", c.nonce, l)
		return
	case nonce != c.nonce:
		c.bad(&c.foreign, "run %s got another run's line: %.120q", c.nonce, l)
		return
	}
	switch {
	case seq == c.next:
		c.next++
	case seq > c.next && resync:
		c.next = seq + 1
	case seq > c.next:
		for k := c.next; k < seq; k++ {
			if len(c.skipped) < maxGap {
				c.skipped[k] = true
			} else {
				c.lost++
			}
		}
		c.next = seq + 1
	case c.skipped[seq]:
		delete(c.skipped, seq)
		c.bad(&c.reordered, "run %s got line %d after line %d", c.nonce, seq, c.next-1)
	default:
		c.bad(&c.duplicate, "run %s got line %d twice", c.nonce, seq)
	}
	if payload != "" && len(c.payloads) < 16 {
		c.payloads[seq] = payload
	}
}

// Resync accepts a jump in the lines that follow, with the unfinished line
// before it and the tail of one after it: output the server dropped on
// purpose (its replay buffer is bounded), counted by the caller, not here.
func (c *Checker) Resync() {
	c.partial = ""
	c.resync = true
}

// Has reports whether line seq has arrived.
func (c *Checker) Has(seq int) bool { return seq < c.next && !c.skipped[seq] }

// Payload is what line seq carried after its number, if it has arrived.
func (c *Checker) Payload(seq int) string { return c.payloads[seq] }

// Result is the verdict on one run's output.
type Result struct {
	Lines     int    `json:"lines"`
	Foreign   int    `json:"foreign"`
	Missing   int    `json:"missing"`
	Reordered int    `json:"reordered"`
	Duplicate int    `json:"duplicate"`
	Example   string `json:"example,omitempty"`
}

// Clean is true when the run received exactly its own output.
func (r Result) Clean() bool {
	return r.Foreign == 0 && r.Missing == 0 && r.Reordered == 0 && r.Duplicate == 0
}

// Finish judges the run once it has ended. want is how many lines the
// program prints when it runs to the end; truncated says the server cut it
// short (an output or memory limit), so a missing tail — and a last line
// cut in the middle — is expected, while a gap before it never is.
func (c *Checker) Finish(want int, truncated bool) Result {
	r := Result{Lines: c.lines, Foreign: c.foreign, Reordered: c.reordered, Duplicate: c.duplicate,
		Missing: len(c.skipped) + c.lost, Example: c.example}
	got := c.next - 1
	if !truncated {
		if got < want {
			r.Missing += want - got
			if r.Example == "" {
				r.Example = fmt.Sprintf("run %s ended after line %d of %d", c.nonce, got, want)
			}
		}
		if c.partial != "" {
			r.Foreign++ // text the program did not print: it ends every line
			if r.Example == "" {
				r.Example = fmt.Sprintf("run %s got an unfinished line: %.120q", c.nonce, c.partial)
			}
		}
	}
	if got > want && want > 0 {
		r.Foreign += got - want
		if r.Example == "" {
			r.Example = fmt.Sprintf("run %s got line %d; it prints %d", c.nonce, got, want)
		}
	}
	if r.Missing > 0 && r.Example == "" {
		r.Example = fmt.Sprintf("run %s: %d lines skipped", c.nonce, r.Missing)
	}
	return r
}

// OutputStats adds up the verdicts of every run.
type OutputStats struct {
	Runs      int `json:"runs_checked"`
	Clean     int `json:"runs_clean"`
	Lines     int `json:"lines"`
	Foreign   int `json:"foreign_lines"`
	Missing   int `json:"missing_lines"`
	Reordered int `json:"reordered_lines"`
	Duplicate int `json:"duplicate_lines"`
	// Stray counts messages for a run id this student never started (or
	// after its exit); SeqGaps counts jumps in the server's message
	// numbers on one connection; Stderr counts runs that wrote to stderr
	// though their program never does.
	Stray    int      `json:"stray_messages"`
	SeqGaps  int      `json:"seq_gaps"`
	Stderr   int      `json:"unexpected_stderr"`
	Examples []string `json:"examples,omitempty"`
}

// Anomalies is everything that means a student saw output that was not
// exactly its own.
func (o OutputStats) Anomalies() int {
	return o.Foreign + o.Missing + o.Reordered + o.Duplicate + o.Stray + o.SeqGaps + o.Stderr
}

type outputTally struct {
	mu sync.Mutex
	OutputStats
}

func (t *outputTally) run(r Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Runs++
	t.Lines += r.Lines
	if r.Clean() {
		t.Clean++
	}
	t.Foreign += r.Foreign
	t.Missing += r.Missing
	t.Reordered += r.Reordered
	t.Duplicate += r.Duplicate
	t.example(r.Example)
}

func (t *outputTally) other(count *int, example string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*count++
	t.example(example)
}

func (t *outputTally) example(s string) {
	if s != "" && len(t.Examples) < maxExamples {
		t.Examples = append(t.Examples, s)
	}
}

func (t *outputTally) snapshot() OutputStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.OutputStats
	s.Examples = append([]string(nil), s.Examples...)
	return s
}
