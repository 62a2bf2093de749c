// Package fault is the error a domain package (registry, workspace, auth,
// roster, the degradation gate) returns when it says no: which of the
// package's own kinds of refusal it is (a sentinel such as
// registry.ErrUsersLimit or workspace.ErrNotFound, matched with errors.Is),
// the sentence for the student or teacher who will read it, and the hidden
// cause for the logs. It knows nothing of HTTP: the web layer maps each kind
// to the API's code and status at the edge (internal/web/errors.go).
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Error is one refusal.
type Error struct {
	Kind    error  // the domain's sentinel; errors.Is(err, Kind) holds
	Message string // for the person: plain words, no internals
	Err     error  // the internal cause, logged, never shown
	// Retry, when set, is how long to wait before trying again (a throttled
	// login): the web layer sends it as Retry-After.
	Retry time.Duration
}

// New makes a refusal of kind.
func New(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes a refusal of kind that keeps cause for the logs.
func Wrap(cause, kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

// Unwrap gives the kind and the cause, so errors.Is finds either.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Message is the words for the person in err's chain, and whether there are
// any.
func Message(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Message, true
	}
	return "", false
}
