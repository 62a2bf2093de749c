package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

// StartFailure is a start that failed on the server's side, not because of
// the student's program (docs/api.md, "Running code"): its Message says so,
// says whether trying again can help, and gives Ref, which the server logged
// with the real cause (attribute "ref") so the teacher can find it. The web
// layer finds it with errors.As and sends Ref and Retry on the "error"
// message.
type StartFailure struct {
	Message string // for the student
	Ref     string // registry.NewRef's form, "R-" and 6 hex digits
	Retry   bool   // the cause passes (the machine short of something): trying again in a minute may work
	Err     error  // the real cause: logged, never shown
}

func (f *StartFailure) Error() string {
	return fmt.Sprintf("runner: the start failed on the server (ref %s, retry %t): %v", f.Ref, f.Retry, f.Err)
}

func (f *StartFailure) Unwrap() error { return f.Err }

// refusal is f as the runner refuses a start: an ErrUnavailable fault with
// f's message, f inside it for errors.As.
func (f *StartFailure) refusal() error {
	return &fault.Error{Kind: ErrUnavailable, Message: f.Message, Err: f}
}

// passingErrnos are causes a minute may cure: the machine (or this server)
// is out of processes, memory, descriptors or namespaces for the moment, or
// too slow. Their texts are matched too: the sandbox's helper reports its
// own failure (before it execs) as text.
var passingErrnos = []syscall.Errno{syscall.EAGAIN, syscall.ENOMEM, syscall.EMFILE, syscall.ENFILE, syscall.ENOSPC, syscall.ETIMEDOUT}

// newStartFailure classifies cause, a start that failed on the server's
// side, and words it for the student with reference ref. Passing causes
// (passingErrnos, a deadline) say to try again in a minute; everything else
// (a permission, a missing interpreter, a broken sandbox, a home that cannot
// be prepared, a full or read-only data disk) lasts until someone acts, so
// the student is told that trying again will not help and to give their
// teacher the reference.
func newStartFailure(cause error, ref string) *StartFailure {
	f := &StartFailure{Ref: ref, Retry: passing(cause), Err: cause}
	if f.Retry {
		f.Message = "Your program could not be started because the server is too busy right now. " +
			"This is a problem on the server, not in your program. " +
			"Try again in a minute; if it keeps happening, tell your teacher and give them the reference " + ref + "."
	} else {
		f.Message = "Your program could not be started because of a problem on the server, not in your program. " +
			"Trying again will not help: tell your teacher, and give them the reference " + ref + "."
	}
	return f
}

func passing(err error) bool {
	if err == nil || errors.Is(err, workspace.ErrDiskFull) || errors.Is(err, workspace.ErrReadOnly) || errors.Is(err, syscall.EDQUOT) {
		return false // the data disk stays full (or read-only) until someone acts
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	text := err.Error()
	for _, e := range passingErrnos {
		if errors.Is(err, e) || strings.Contains(text, e.Error()) {
			return true
		}
	}
	return false
}

// startFailed logs a start that failed on the server's side, with what
// failed, attrs, a new reference and the cause, and returns it worded for
// the student.
func (r *Runner) startFailed(cause error, what string, attrs ...any) *StartFailure {
	f := newStartFailure(cause, registry.NewRef())
	r.log.Error(what, append(attrs, "ref", f.Ref, "retry", f.Retry, "err", cause)...)
	return f
}
