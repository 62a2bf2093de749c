package workspace

import (
	"errors"
	"path"

	"github.com/pythonide/pythonide/internal/fault"
)

// Outcomes of distributing to one user.
const (
	Copied  = "copied"
	Skipped = "skipped"
	Failed  = "failed"
)

// DistributeResult says what happened for each user, in the order given.
type DistributeResult struct {
	Copied  int                 `json:"copied"`
	Skipped int                 `json:"skipped"`
	Failed  int                 `json:"failed"`
	Users   []DistributeOutcome `json:"users"`
}

// DistributeOutcome is one user's result.
type DistributeOutcome struct {
	Username string `json:"username"`
	Status   string `json:"status"`           // Copied, Skipped or Failed
	Path     string `json:"path"`             // where the copy is (or would have been)
	Reason   string `json:"reason,omitempty"` // for Skipped and Failed, in plain words
}

// Distribute copies the file or folder source into Local/<u>/<target>/ for
// each user (professor only). target is a folder path inside each home ("" =
// the home itself), created if missing; a missing home is created too. A user
// who already has something at the destination is skipped, never
// overwritten; one user's failure (e.g. quota) does not stop the others.
func (w *Workspace) Distribute(a Actor, source, target string, users []string) (DistributeResult, error) {
	if !a.Professor {
		return DistributeResult{}, fault.New(ErrDenied, "Only teachers can distribute files.")
	}
	src, err := resolve(a, source, readAccess)
	if err != nil {
		return DistributeResult{}, err
	}
	if src.kind == kindRoot || src.kind == kindLocal {
		return DistributeResult{}, fault.New(ErrInvalid, "Choose a file or folder to distribute, not %q.", source)
	}
	if _, err := parsePath(target); err != nil {
		return DistributeResult{}, err
	}
	if _, err := w.Stat(a, source); err != nil {
		return DistributeResult{}, err
	}
	res := DistributeResult{Users: make([]DistributeOutcome, 0, len(users))}
	for _, u := range users {
		o := w.distributeOne(a, src, target, u)
		switch o.Status {
		case Copied:
			res.Copied++
		case Skipped:
			res.Skipped++
		default:
			res.Failed++
		}
		res.Users = append(res.Users, o)
	}
	return res, nil
}

func (w *Workspace) distributeOne(a Actor, src loc, target, u string) DistributeOutcome {
	o := DistributeOutcome{Username: u, Status: Failed}
	if !validName(u) {
		o.Reason = "This is not a valid username."
		return o
	}
	dir := localDir + "/" + u
	if target != "" {
		dir += "/" + target
	}
	o.Path = path.Join(dir, src.base())
	fail := func(err error) DistributeOutcome {
		o.Reason = reason(err)
		return o
	}
	if err := w.EnsureHome(u); err != nil {
		return fail(err)
	}
	if err := w.mkdirAll(a, dir); err != nil {
		return fail(err)
	}
	dst, err := resolve(a, o.Path, writeAccess)
	if err != nil {
		return fail(err)
	}
	err = w.copyItem(a, src, dst)
	switch {
	case err == nil:
		o.Status = Copied
	case errors.Is(err, ErrExists):
		o.Status, o.Reason = Skipped, "They already have "+o.Path+"; it was left as it is."
	default:
		return fail(err)
	}
	return o
}

// EnsureFolder makes the folder p of a home with its missing parents (and
// the home itself), leaving whatever is there already (professor only).
func (w *Workspace) EnsureFolder(a Actor, p string) error {
	if !a.Professor {
		return fault.New(ErrDenied, "Only teachers can make folders in students' homes.")
	}
	l, err := resolve(a, p, writeAccess)
	if err != nil {
		return err
	}
	if l.kind != kindHome {
		return fault.New(ErrInvalid, "%q is not a folder in a home.", p)
	}
	if err := w.EnsureHome(l.owner); err != nil {
		return err
	}
	return w.mkdirAll(a, p)
}

// mkdirAll creates a folder and its missing parents inside a home.
func (w *Workspace) mkdirAll(a Actor, p string) error {
	l, err := resolve(a, p, writeAccess)
	if err != nil {
		return err
	}
	if l.atScopeRoot() {
		return nil
	}
	root, err := w.openScope(l)
	if err != nil {
		return err
	}
	defer root.Close()
	own := w.ownerFor(l)
	parts := l.parts[2:]
	for i := range parts {
		rel := path.Join(parts[:i+1]...)
		err := root.Mkdir(rel, dirPerm)
		if err == nil {
			err = fixDir(root, rel, own)
		} else if fi, serr := root.Stat(rel); serr == nil && fi.IsDir() {
			err = nil
		}
		if err != nil {
			return mapErr(err, p)
		}
	}
	return nil
}

// reason is what a refused copy says: the refusal's own words, or a plain
// sentence for a failure that has none.
func reason(err error) string {
	if m, ok := fault.Message(err); ok {
		return m
	}
	return "Something went wrong on the server. Please try again."
}
