package runner

import (
	"errors"
	"fmt"
)

// The kinds of the runner's refusals (fault.Error kinds, matched with
// errors.Is); the registry's and the workspace's come through as they are.
var (
	ErrInvalid     = errors.New("runner: the request is not acceptable")
	ErrNotRunning  = errors.New("runner: no such program is running")
	ErrNotReading  = errors.New("runner: the program is not reading its input")
	ErrUnavailable = errors.New("runner: programs cannot be started now")
	// ErrClosing: the server is shutting down (a restart); an
	// ErrUnavailable that trying again shortly may get past.
	ErrClosing = fmt.Errorf("runner: the server is shutting down: %w", ErrUnavailable)
)
