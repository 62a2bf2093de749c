package workspace

import (
	"path/filepath"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// Runnable is where a program the actor may read lives on the host, for the
// sandbox: the file itself, and the home or course folder that holds it (the
// folder the sandbox must make visible). The check goes through the same
// confined open as a read, so a link never leads a run outside its folder.
type Runnable struct {
	File   string // absolute host path of the .py file
	Scope  string // absolute host path of its home or course folder
	InHome string // the home's owner when the file is in a home, else ""
}

// Runnable checks that p is a Python file the actor may read and says where
// it is on the host.
func (w *Workspace) Runnable(a Actor, p string) (Runnable, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return Runnable{}, err
	}
	if l.kind != kindHome && l.kind != kindCourse || l.atScopeRoot() {
		return Runnable{}, fault.New(ErrInvalid, "%q is a folder, not a Python file.", p)
	}
	if !strings.HasSuffix(l.base(), ".py") {
		return Runnable{}, fault.New(ErrInvalid, "Only Python files (ending in .py) can be run.")
	}
	root, err := w.openScope(l)
	if err != nil {
		return Runnable{}, err
	}
	defer root.Close()
	f, _, err := openRegular(root, l.rel, nil)
	if err != nil {
		return Runnable{}, mapErr(err, p)
	}
	f.Close()
	r := Runnable{}
	switch l.kind {
	case kindHome:
		r.Scope, r.InHome = filepath.Join(w.path, localDir, l.owner), l.owner
	case kindCourse:
		r.Scope = filepath.Join(w.path, l.course)
	}
	r.File = filepath.Join(r.Scope, filepath.FromSlash(l.rel))
	return r, nil
}
