package loadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// opError is a failed or refused operation, sorted into a kind so that the
// report counts like with like ("save: http 412 conflict").
type opError struct {
	kind    string // short and stable: what is counted
	refusal bool   // refused by a limit of the product (limit_reached), not a failure
	code    string // the server's error code, when the server answered with one
	detail  string // one example's particulars, for the report's examples
}

func (e *opError) Error() string {
	if e.detail == "" {
		return e.kind
	}
	return e.kind + ": " + e.detail
}

// asError keeps a nil *opError nil as an error.
func asError(e *opError) error {
	if e == nil {
		return nil
	}
	return e
}

func failure(kind, format string, args ...any) *opError {
	return &opError{kind: kind, detail: fmt.Sprintf(format, args...)}
}

// apiError sorts an error the server answered with ({"code","message"}).
func apiError(where string, status int, code, message string) *opError {
	kind := fmt.Sprintf("%s: %s", where, code)
	if status != 0 {
		kind = fmt.Sprintf("%s: http %d %s", where, status, code)
	}
	return &opError{kind: kind, refusal: code == "limit_reached", code: code, detail: message}
}

// transportError sorts an error of the connection itself.
func transportError(where string, err error) *opError {
	var oe *opError
	if errors.As(err, &oe) {
		return oe
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &opError{kind: where + ": timeout", detail: err.Error()}
	case errors.Is(err, context.Canceled):
		return &opError{kind: where + ": cancelled", detail: err.Error()}
	}
	return &opError{kind: where + ": transport", detail: err.Error()}
}

// maxExamples bounds the examples kept for the report.
const maxExamples = 20

// tally counts failures and refusals by kind; safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	failures map[string]int
	refusals map[string]int
	examples []string
}

func newTally() *tally { return &tally{failures: map[string]int{}, refusals: map[string]int{}} }

// add counts err; a cancellation at the end of the run is not counted, since
// it is the load test stopping, not the server failing.
func (t *tally) add(err *opError, cancelled bool) {
	if err == nil || cancelled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err.refusal {
		t.refusals[err.kind]++
		return
	}
	if t.failures[err.kind] == 0 && len(t.examples) < maxExamples {
		t.examples = append(t.examples, err.Error())
	}
	t.failures[err.kind]++
}

func (t *tally) snapshot() (failures, refusals map[string]int, examples []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.failures), maps.Clone(t.refusals), slices.Clone(t.examples)
}

// counts counts things by name; safe for concurrent use.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[name]++
}

func (c *counts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}
