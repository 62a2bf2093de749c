package workspace

import (
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// localDir is the top-level folder that holds one home per user; every other
// top-level folder is course material.
const localDir = "Local"

// Actor is who asks for an operation.
type Actor struct {
	Username  string
	Professor bool
	// Limits, when set, narrow what the actor may reach below what its
	// role allows (an exam's students: fence.go).
	Limits *Limits
}

// kind says which part of the workspace a path is in; it decides both the
// permission rules and the folder an operation is confined to.
type kind int

const (
	kindRoot   kind = iota // "" — the workspace root
	kindLocal              // "Local"
	kindHome               // "Local/<user>/..."
	kindCourse             // "<Course>/..."
)

// loc is a validated, classified workspace path.
type loc struct {
	path   string // the workspace path as given (already valid)
	parts  []string
	kind   kind
	owner  string // kindHome: whose home
	course string // kindCourse: which course folder
	rel    string // path inside the home or course folder; "." for the folder itself
	fence  int    // inside the actor's fence (Limits.Fence): how many names the fence has; 0 when not
}

// scopeKey names the folder the path is confined to, for locks.
func (l loc) scopeKey() string {
	switch l.kind {
	case kindHome:
		return "home/" + l.owner
	case kindCourse:
		return "course/" + l.course
	}
	return "top"
}

// atScopeRoot reports whether the path names a home or course folder itself.
func (l loc) atScopeRoot() bool { return l.rel == "." }

// base is the last name of the path ("" for the root).
func (l loc) base() string {
	if len(l.parts) == 0 {
		return ""
	}
	return l.parts[len(l.parts)-1]
}

func classify(p string) (loc, error) {
	parts, err := parsePath(p)
	if err != nil {
		return loc{}, err
	}
	l := loc{path: p, parts: parts, rel: "."}
	switch {
	case len(parts) == 0:
		l.kind = kindRoot
	case parts[0] == localDir && len(parts) == 1:
		l.kind = kindLocal
	case parts[0] == localDir:
		l.kind, l.owner = kindHome, parts[1]
		if len(parts) > 2 {
			l.rel = strings.Join(parts[2:], "/")
		}
	default:
		l.kind, l.course = kindCourse, parts[0]
		if len(parts) > 1 {
			l.rel = strings.Join(parts[1:], "/")
		}
	}
	return l, nil
}

// access is what an operation needs to do with a path.
type access int

const (
	readAccess access = iota
	writeAccess
)

// resolve validates and classifies p and checks that a may use it as asked.
// Another student's home is "not found" whatever the operation, so that a
// student cannot learn which homes exist.
func resolve(a Actor, p string, need access) (loc, error) {
	l, err := classify(p)
	if err != nil {
		return loc{}, err
	}
	if err := a.Limits.apply(a, &l, need); err != nil {
		return loc{}, err
	}
	if a.Professor {
		return l, nil
	}
	if l.kind == kindHome && l.owner != a.Username {
		return loc{}, notFound(p)
	}
	if need == writeAccess && !canWrite(a, l) {
		if l.kind == kindLocal || l.kind == kindRoot {
			return loc{}, fault.New(ErrDenied, "You can only change files inside your own folder, Local/%s.", a.Username)
		}
		return loc{}, fault.New(ErrDenied, "The folder %q is course material and is read-only for students. Copy it into your own folder to change it.", l.course)
	}
	return l, nil
}

// canWrite says whether a may change what is inside l (or l itself, for a
// file). For folders this is "may create and change things inside"; deleting
// or moving a home, Local or the root is refused separately, for everyone.
func canWrite(a Actor, l loc) bool {
	if a.Limits.readOnly(l) != "" {
		return false
	}
	switch l.kind {
	case kindRoot:
		return a.Professor // creates course folders
	case kindLocal:
		return false // homes come with accounts (EnsureHome)
	case kindHome:
		return a.Professor || l.owner == a.Username
	default:
		return a.Professor
	}
}

func notFound(p string) *fault.Error {
	return fault.New(ErrNotFound, "%q does not exist.", p)
}
