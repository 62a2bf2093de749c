// Package apierror is the one error type that crosses package boundaries on
// its way to a person: it carries a stable machine code, a message written for
// the student or teacher who will read it, the HTTP status, and (never shown)
// the internal cause for the logs.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable snake_case error code from the public API.
type Code string

// The codes named by the public API (shared/API.md), plus internal.
const (
	BadRequest   Code = "bad_request"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	TooLarge     Code = "too_large"
	RateLimited  Code = "rate_limited"
	LimitReached Code = "limit_reached"
	Unavailable  Code = "unavailable"
	Internal     Code = "internal"
)

// defaultStatus is the HTTP status a code maps to unless the error says otherwise.
var defaultStatus = map[Code]int{
	BadRequest:   http.StatusBadRequest,
	Unauthorized: http.StatusUnauthorized,
	Forbidden:    http.StatusForbidden,
	NotFound:     http.StatusNotFound,
	Conflict:     http.StatusConflict,
	TooLarge:     http.StatusRequestEntityTooLarge,
	RateLimited:  http.StatusTooManyRequests,
	LimitReached: http.StatusTooManyRequests,
	Unavailable:  http.StatusServiceUnavailable,
	Internal:     http.StatusInternalServerError,
}

// Error is an error with a code and a message fit for a person.
type Error struct {
	Code       Code
	Message    string        // shown to the user: plain words, no internals
	Status     int           // HTTP status; 0 means the code's default
	RetryAfter time.Duration // for rate_limited: sent as Retry-After
	Err        error         // internal cause, logged, never shown
}

// New makes an error with the code's default status.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes an error that keeps cause for the logs.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// WithStatus returns a copy with an explicit HTTP status (e.g. 412 for a stale If-Match).
func (e *Error) WithStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status to answer with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if s, ok := defaultStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// From finds the *Error in err's chain; any other error becomes an internal
// error whose message reveals nothing.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "Something went wrong on the server. Please try again.", Err: err}
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
