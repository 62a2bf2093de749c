package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// container opens the folder that directly holds l's item and gives the
// item's name in it: the workspace root for a course folder itself, Local
// for a home itself, else the home or course folder l is confined to.
func (w *Workspace) container(l loc) (r *os.Root, name string, release func(), err error) {
	switch {
	case l.kind == kindRoot || l.kind == kindLocal:
		return nil, "", nil, fault.New(ErrInvalid, "Choose a folder inside %q.", l.path)
	case l.kind == kindCourse && l.atScopeRoot():
		return w.data, l.course, func() {}, nil
	case l.kind == kindHome && l.atScopeRoot():
		return w.local, l.owner, func() {}, nil
	}
	root, err := w.openScope(l)
	if err != nil {
		return nil, "", nil, err
	}
	return root, l.rel, func() { root.Close() }, nil
}

// refuseStructural refuses changing the root, Local or a home itself.
func refuseStructural(a Actor, l loc, verb string) error {
	switch {
	case l.kind == kindRoot:
		return fault.New(ErrDenied, "The workspace itself cannot be %s.", verb)
	case l.kind == kindLocal:
		return fault.New(ErrDenied, "The Local folder holds everyone's folders and cannot be %s.", verb)
	case l.kind == kindHome && l.atScopeRoot():
		if l.owner == a.Username {
			return fault.New(ErrDenied, "Your own folder cannot be %s; work with the files inside it.", verb)
		}
		return fault.New(ErrDenied, "A student's folder cannot be %s here.", verb)
	}
	return nil
}

// Mkdir creates one folder. Its parent must exist already (so a typo in a
// parent name is reported rather than silently created). A professor creates
// a course folder by making a top-level folder; homes are made by EnsureHome.
func (w *Workspace) Mkdir(a Actor, p string) error {
	l, err := resolve(a, p, writeAccess)
	if err != nil {
		return err
	}
	switch {
	case l.kind == kindRoot || l.kind == kindLocal:
		return fault.New(ErrExists, "%q already exists.", p)
	case l.kind == kindHome && l.atScopeRoot():
		if _, err := w.local.Lstat(l.owner); err == nil {
			return fault.New(ErrExists, "%q already exists.", p)
		}
		return fault.New(ErrDenied, "Students' folders are created with their accounts.")
	}
	r, name, release, err := w.container(l)
	if err != nil {
		return err
	}
	defer release()
	if err := mustBeDir(r, path.Dir(name), parentPath(p)); err != nil {
		return err
	}
	if err := r.Mkdir(name, dirPerm); err != nil {
		return mapErr(err, p)
	}
	return mapErr(fixDir(r, name, w.ownerFor(l)), p)
}

// fixDir sets a new folder's mode (past the umask) and owner.
func fixDir(r *os.Root, name string, own owner) error {
	if err := r.Chmod(name, dirPerm); err != nil {
		return err
	}
	if own.on {
		return r.Lchown(name, own.uid, own.gid)
	}
	return nil
}

// Delete removes a file, a link (not what it points to), or a folder with
// everything in it. In a home, with a trash (Options.TrashDir), it moves it
// into the owner's trash instead, from where RestoreTrash brings it back.
func (w *Workspace) Delete(a Actor, p string) error {
	return w.remove(a, p, true)
}

// remove deletes p, into the trash when toTrash and there is one.
func (w *Workspace) remove(a Actor, p string, toTrash bool) error {
	l, err := resolve(a, p, writeAccess)
	if err != nil {
		return err
	}
	if err := refuseStructural(a, l, "deleted"); err != nil {
		return err
	}
	r, name, release, err := w.container(l)
	if err != nil {
		return err
	}
	defer release()
	unlock := w.locks.lock(l.scopeKey())
	defer unlock()
	fi, err := r.Lstat(name)
	if err != nil {
		return mapErr(err, p)
	}
	if toTrash && l.kind == kindHome && w.trash != nil {
		err = w.toTrash(a, l, r, fi)
	} else {
		err = r.RemoveAll(name)
	}
	if l.kind == kindHome {
		w.forgetUsage(l.owner)
	}
	return mapErr(err, p)
}

// Move renames or moves a file or folder. It never overwrites (409) and
// never moves a folder into itself (400). Between two homes or course
// folders it copies, then deletes the original (not into the trash).
// Inside one home the moved files' history goes along.
func (w *Workspace) Move(a Actor, from, to string) error {
	src, err := resolve(a, from, writeAccess)
	if err != nil {
		return err
	}
	if err := refuseStructural(a, src, "moved"); err != nil {
		return err
	}
	dst, err := resolve(a, to, writeAccess)
	if err != nil {
		return err
	}
	if err := checkTarget(a, src, dst); err != nil {
		return err
	}
	sameScope := src.scopeKey() == dst.scopeKey() && !src.atScopeRoot() && !dst.atScopeRoot()
	bothCourses := src.kind == kindCourse && dst.kind == kindCourse && src.atScopeRoot() && dst.atScopeRoot()
	if !sameScope && !bothCourses {
		if err := w.copyItem(a, src, dst); err != nil {
			return err
		}
		return w.remove(a, from, false) // moved, not deleted: not into the trash
	}

	r, srcName, release, err := w.container(src)
	if err != nil {
		return err
	}
	defer release()
	dstName := dst.rel
	key := src.scopeKey()
	if bothCourses {
		dstName, key = dst.course, "top"
	}
	if err := mustBeDir(r, path.Dir(dstName), parentPath(to)); err != nil {
		return err
	}
	unlock := w.locks.lock(key)
	defer unlock()
	fi, err := r.Lstat(srcName)
	if err != nil {
		return mapErr(err, from)
	}
	if err := mustNotExist(r, dstName, to); err != nil {
		return err
	}
	if err := r.Rename(srcName, dstName); err != nil {
		return mapErr(err, to)
	}
	if src.kind == kindHome {
		w.moveHistory(src.owner, srcName, dstName, fi.IsDir())
	}
	if err := syncDir(r, path.Dir(dstName)); err != nil {
		return mapErr(err, to)
	}
	return mapErr(syncDir(r, path.Dir(srcName)), from)
}

// checkTarget applies the rules for where a copy or move may go.
func checkTarget(a Actor, src, dst loc) error {
	switch {
	case dst.kind == kindRoot || dst.kind == kindLocal:
		return fault.New(ErrExists, "%q already exists.", dst.path)
	case dst.kind == kindHome && dst.atScopeRoot():
		return fault.New(ErrDenied, "Students' folders are created with their accounts; choose a name inside one.")
	case src.kind == kindRoot || src.kind == kindLocal:
		return fault.New(ErrInvalid, "Choose a folder inside %q.", src.path)
	}
	if src.scopeKey() == dst.scopeKey() && !dst.atScopeRoot() &&
		(src.atScopeRoot() || strings.HasPrefix(dst.rel, src.rel+"/")) {
		return fault.New(ErrInvalid, "A folder cannot be put inside itself (%q is inside %q).", dst.path, src.path)
	}
	return nil
}

// mustNotExist refuses an existing target (file, folder or link).
func mustNotExist(r *os.Root, name, p string) error {
	_, err := r.Lstat(name)
	if err == nil {
		return fault.New(ErrExists, "%q already exists. Choose another name or delete it first.", p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return mapErr(err, p)
}
