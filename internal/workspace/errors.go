package workspace

import "errors"

// The kinds of the workspace's refusals (fault.Error kinds, matched with
// errors.Is). Every refusal carries a sentence for the student or teacher.
var (
	ErrInvalid  = errors.New("workspace: the path or request is not acceptable")
	ErrDenied   = errors.New("workspace: the actor may not do this")
	ErrNotFound = errors.New("workspace: no such file or folder")
	ErrExists   = errors.New("workspace: something is already there")
	ErrTooLarge = errors.New("workspace: the file is over the size limit")
	ErrStale    = errors.New("workspace: the file changed since the If-Match version")
	ErrQuota    = errors.New("workspace: the home is over its storage quota")
	ErrDiskFull = errors.New("workspace: the data volume is full")
	ErrReadOnly = errors.New("workspace: the data volume is read-only")
	ErrFailed   = errors.New("workspace: the file system failed")
)
