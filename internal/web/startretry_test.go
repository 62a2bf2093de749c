package web

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/workspace"
)

// TestStartRetry: what a refused run or repl says about trying again.
func TestStartRetry(t *testing.T) {
	failure := &fault.Error{Kind: runner.ErrUnavailable, Message: "…", Err: &runner.StartFailure{Ref: "R-0a1b2c", Retry: true, Err: errors.New("eagain")}}
	for _, tc := range []struct {
		name  string
		err   error
		ref   string
		retry string // "": not said
	}{
		{"a failure on the server", failure, "R-0a1b2c", "true"},
		{"the memory gate", fault.New(degrade.ErrShedMemory, "The server is short of memory right now…"), "", "true"},
		{"the CPU gate", fault.New(degrade.ErrShedCPU, "The server is very busy right now…"), "", "true"},
		{"the class's limit", fault.New(registry.ErrTotalLimit, "The server is at its limit…"), "", "true"},
		{"the class's limit, across instances", fmt.Errorf("cluster: %w", fault.New(registry.ErrUsersLimit, "…")), "", "true"},
		{"a restart", fault.New(runner.ErrClosing, "The server is restarting…"), "", "true"},
		{"the student's own limit", fault.New(registry.ErrPerUserLimit, "You already have 3 programs running…"), "", "true"},
		{"a drain", fault.New(runner.ErrUnavailable, "This server is being replaced…"), "", ""},
		{"a missing file", fault.New(workspace.ErrNotFound, `"Local/ann/a.py" does not exist.`), "", "false"},
		{"not a Python file", fault.New(workspace.ErrInvalid, "Only Python files (ending in .py) can be run."), "", "false"},
		{"a link out", fault.New(workspace.ErrDenied, "…"), "", "false"},
		{"anything else", errors.New("boom"), "", ""},
	} {
		ref, retry := startRetry(tc.err)
		got := ""
		if retry != nil {
			got = fmt.Sprint(*retry)
		}
		if ref != tc.ref || got != tc.retry {
			t.Errorf("%s: ref %q retry %q, want %q %q", tc.name, ref, got, tc.ref, tc.retry)
		}
	}
}
