package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// Limits narrow what an actor may reach below what its role allows. An
// exam (internal/exam) fences its students into their exam folder while it
// lasts, and leaves that folder read-only once it is over. They are applied
// in resolve, which every file operation goes through for every path it
// touches, so an operation (or a route) added later cannot miss them.
type Limits struct {
	// Fence, when not "", is the one folder of the actor's own home it may
	// reach, with everything inside it (Local/<user>/<folder>): every other
	// path — the rest of the home, Local, the root, other homes and, unless
	// Courses, the course folders — is refused (ErrFenced) with Refusal.
	// Inside the fence no link is followed (fenced), so nothing there leads
	// out of it. The fence folder itself cannot be changed, only what is
	// inside it.
	Fence   string
	Courses bool   // with a fence: the course folders stay open (read-only for a student, as always)
	Refusal string // why a path outside the fence is refused; a default sentence when ""
	// ReadOnly folders may be read but nothing in them changed.
	ReadOnly []ReadOnly
}

// ReadOnly is a folder an actor may read but not change.
type ReadOnly struct {
	Folder string // workspace path
	Why    string // the refusal of a change inside it
}

// ErrFenced refuses a path outside the actor's fence (a kind of ErrDenied).
var ErrFenced = fmt.Errorf("%w (outside the folder the actor is limited to)", ErrDenied)

func (lim *Limits) refusal() string {
	if lim.Refusal != "" {
		return lim.Refusal
	}
	return "Only your folder " + lim.Fence + " is open now."
}

// apply checks l against the limits, marking a path inside the fence.
func (lim *Limits) apply(a Actor, l *loc, need access) error {
	if lim == nil {
		return nil
	}
	if lim.Fence != "" {
		fp, err := parsePath(lim.Fence)
		mine := err == nil && len(fp) >= 3 && fp[0] == localDir && fp[1] == a.Username // else nothing is open
		switch {
		case mine && under(l.parts, fp):
			l.fence = len(fp)
			if need == writeAccess && len(l.parts) == len(fp) {
				return fault.New(ErrDenied, "The folder %s itself cannot be moved, deleted or replaced now; work with the files inside it.", lim.Fence)
			}
		case l.kind == kindCourse && lim.Courses:
		default:
			return fault.New(ErrFenced, "%s", lim.refusal())
		}
	}
	if need == writeAccess {
		if why := lim.readOnly(*l); why != "" {
			return fault.New(ErrDenied, "%s", why)
		}
	}
	return nil
}

// readOnly is why nothing at l may be changed, or "" when it may.
func (lim *Limits) readOnly(l loc) string {
	if lim == nil {
		return ""
	}
	for _, ro := range lim.ReadOnly {
		if rp, err := parsePath(ro.Folder); err == nil && len(rp) > 0 && under(l.parts, rp) {
			if ro.Why == "" {
				return fmt.Sprintf("The folder %s is read-only now.", ro.Folder)
			}
			return ro.Why
		}
	}
	return ""
}

// under reports whether the path parts is folder or inside it.
func under(parts, folder []string) bool {
	if len(parts) < len(folder) {
		return false
	}
	for i := range folder {
		if parts[i] != folder[i] {
			return false
		}
	}
	return true
}

// fenced is openScope's last step for a path inside a fence: home (the
// opened home of l's owner) is handed on only if the fence folder is a real
// folder and nothing on the way from it to the path, the path included, is
// a link. An os.Root follows links that stay inside its folder, the home,
// so a link planted in the fence (by a program, before the exam) would
// otherwise lead to the rest of the home. What does not exist yet (a file
// being saved) ends the check.
func fenced(home *os.Root, l loc) (*os.Root, error) {
	if l.fence == 0 || l.kind != kindHome {
		return home, nil
	}
	for i := l.fence; i <= len(l.parts); i++ {
		rel := strings.Join(l.parts[2:i], "/")
		fi, err := home.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) && i > l.fence {
			break
		}
		if err != nil {
			home.Close()
			return nil, mapErr(err, strings.Join(l.parts[:i], "/"))
		}
		if fi.Mode()&fs.ModeSymlink != 0 || i == l.fence && !fi.IsDir() {
			home.Close()
			return nil, fault.New(ErrDenied, "%q is a link, and no link is followed in this folder now.", strings.Join(l.parts[:i], "/"))
		}
	}
	return home, nil
}

// RealFolder is the host path of p, a folder inside a home that a may
// read, checked to be a real folder reached through no link (for the
// sandbox, which shows it to a program: an exam's folder as its home).
func (w *Workspace) RealFolder(a Actor, p string) (string, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return "", err
	}
	parent, name, err := w.parentInHome(l, p)
	if err != nil {
		return "", err
	}
	defer parent.Close()
	r, err := openDirChecked(parent, name)
	if err != nil {
		return "", mapErr(err, p)
	}
	r.Close()
	return filepath.Join(w.path, filepath.FromSlash(p)), nil
}

// parentInHome opens the folder that holds l (the workspace path p, inside
// a home but not the home itself), every step a real folder reached through
// no link, and names l in it.
func (w *Workspace) parentInHome(l loc, p string) (*os.Root, string, error) {
	if l.kind != kindHome || l.atScopeRoot() {
		return nil, "", fault.New(ErrInvalid, "%q is not a folder inside a home.", p)
	}
	r, err := openDirChecked(w.local, l.owner)
	if err != nil {
		return nil, "", mapErr(err, localDir+"/"+l.owner)
	}
	last := len(l.parts) - 1
	for _, name := range l.parts[2:last] {
		sub, err := openDirChecked(r, name)
		r.Close()
		if err != nil {
			return nil, "", mapErr(err, p)
		}
		r = sub
	}
	return r, l.parts[last], nil
}

// Seal takes p, a folder inside a home, from the programs' user: it and
// everything in it become the server's, and nobody else may write them.
// An exam's folder at its end: the file API refuses changes by Limits,
// bubblewrap mounts it read-only, and under Landlock alone (which sees the
// home whole) the file system's permissions are what keep a program from
// changing it. A no-op where programs run as the server's own user
// (Options.HomeUID unset). AdoptHomes leaves a sealed folder as it is
// when told to skip it.
func (w *Workspace) Seal(a Actor, p string) error {
	if !w.homeOwner().on {
		return nil
	}
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return err
	}
	r, name, err := w.parentInHome(l, p)
	if err != nil {
		return err
	}
	defer r.Close()
	fi, err := r.Lstat(name)
	if err != nil {
		return mapErr(err, p)
	}
	if !fi.IsDir() {
		return fault.New(ErrInvalid, "%q is not a folder.", p)
	}
	server := owner{uid: os.Geteuid(), gid: os.Getegid(), on: true}
	if err := chownTree(r, name, fi, server, true, 0); err != nil {
		return mapErr(err, p)
	}
	return syncDir(r, name)
}
