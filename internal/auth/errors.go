package auth

import "errors"

// The kinds of auth's refusals (fault.Error kinds, matched with errors.Is).
var (
	ErrWrongPassword = errors.New("auth: wrong username or password")
	ErrNoSession     = errors.New("auth: no session, or it ended")
	ErrDeactivated   = errors.New("auth: the account is deactivated")
	ErrThrottled     = errors.New("auth: too many failed logins")
	ErrBadPassword   = errors.New("auth: the password or hash is not acceptable")
	ErrBadUsername   = errors.New("auth: the username is not acceptable")
	ErrUnavailable   = errors.New("auth: the database does not answer")
	ErrFailed        = errors.New("auth: an internal step failed")
)
