package roster

import "errors"

// The kinds of the roster's refusals (fault.Error kinds, matched with
// errors.Is). Auth's ErrBadUsername and ErrBadPassword come through as
// they are.
var (
	ErrInvalid     = errors.New("roster: the user or roster is not acceptable")
	ErrTooLarge    = errors.New("roster: the roster has too many rows")
	ErrTaken       = errors.New("roster: the username is taken")
	ErrNoUser      = errors.New("roster: no such user")
	ErrUnavailable = errors.New("roster: the database does not answer")
	ErrNoHome      = errors.New("roster: the user's folder could not be made")
)
