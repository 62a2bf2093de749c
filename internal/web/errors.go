package web

import (
	"errors"
	"net/http"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/workspace"
)

// The edge between the domain and the API: a domain package refuses with a
// fault.Error of one of its own kinds, and here each kind becomes the API's
// code and HTTP status (shared/API.md), with the domain's own words.
var apiKinds = []struct {
	kind   error
	code   apierror.Code
	status int // 0: the code's
}{
	{registry.ErrLimit, apierror.LimitReached, 0},
	{registry.ErrInvalid, apierror.BadRequest, 0},
	{registry.ErrDuplicate, apierror.Conflict, 0},
	{degrade.ErrShedMemory, apierror.Unavailable, 0},
	{auth.ErrWrongPassword, apierror.Unauthorized, 0},
	{auth.ErrNoSession, apierror.Unauthorized, 0},
	{auth.ErrDeactivated, apierror.Unauthorized, 0},
	{auth.ErrThrottled, apierror.RateLimited, 0},
	{auth.ErrBadPassword, apierror.BadRequest, 0},
	{auth.ErrUnavailable, apierror.Unavailable, 0},
	{auth.ErrFailed, apierror.Internal, 0},
	{auth.ErrBadUsername, apierror.BadRequest, 0},
	{roster.ErrInvalid, apierror.BadRequest, 0},
	{roster.ErrTooLarge, apierror.TooLarge, 0},
	{roster.ErrTaken, apierror.Conflict, 0},
	{roster.ErrNoUser, apierror.NotFound, 0},
	{roster.ErrUnavailable, apierror.Unavailable, 0},
	{roster.ErrNoHome, apierror.Internal, 0},
	{workspace.ErrInvalid, apierror.BadRequest, 0},
	{workspace.ErrDenied, apierror.Forbidden, 0},
	{workspace.ErrNotFound, apierror.NotFound, 0},
	{workspace.ErrExists, apierror.Conflict, 0},
	{workspace.ErrTooLarge, apierror.TooLarge, 0},
	{workspace.ErrStale, apierror.Conflict, http.StatusPreconditionFailed},
	{workspace.ErrQuota, apierror.LimitReached, http.StatusInsufficientStorage},
	{workspace.ErrDiskFull, apierror.LimitReached, http.StatusInsufficientStorage},
	{workspace.ErrReadOnly, apierror.Unavailable, 0},
	{workspace.ErrFailed, apierror.Internal, 0},
	{runner.ErrInvalid, apierror.BadRequest, 0},
	{runner.ErrNotRunning, apierror.NotFound, 0},
	{runner.ErrNotReading, apierror.RateLimited, 0},
	{runner.ErrUnavailable, apierror.Unavailable, 0},
	{degrade.ErrShedCPU, apierror.Unavailable, 0},
	{assignment.ErrInvalid, apierror.BadRequest, 0},
	{assignment.ErrNotFound, apierror.NotFound, 0},
	{assignment.ErrExists, apierror.Conflict, 0},
	{assignment.ErrClosed, apierror.Conflict, 0},
	{assignment.ErrLimit, apierror.Conflict, 0},
	{assignment.ErrFailed, apierror.Unavailable, 0},
	{exam.ErrInvalid, apierror.BadRequest, 0},
	{exam.ErrNotFound, apierror.NotFound, 0},
	{exam.ErrConflict, apierror.Conflict, 0},
	{exam.ErrFailed, apierror.Unavailable, 0},
}

// apiError is err as the API answers it: an *apierror.Error already (the
// web layer's own, the runner's), a domain refusal mapped by its kind, or
// an internal error that reveals nothing.
func apiError(err error) *apierror.Error {
	var e *apierror.Error
	if errors.As(err, &e) {
		return e
	}
	var f *fault.Error
	if errors.As(err, &f) {
		for _, k := range apiKinds {
			if errors.Is(f.Kind, k.kind) {
				return &apierror.Error{Code: k.code, Status: k.status, Message: f.Message, RetryAfter: f.Retry, Err: err}
			}
		}
	}
	return apierror.From(err)
}

// apiIs reports whether err answers with code.
func apiIs(err error, code apierror.Code) bool { return err != nil && apiError(err).Code == code }
