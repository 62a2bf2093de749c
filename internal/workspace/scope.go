package workspace

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/pythonide/pythonide/internal/fault"
)

// openScope opens the folder l is confined to: the home or the course folder.
func (w *Workspace) openScope(l loc) (*os.Root, error) {
	parent, name, p := w.data, l.course, l.course
	switch l.kind {
	case kindHome:
		parent, name, p = w.local, l.owner, localDir+"/"+l.owner
	case kindCourse:
	default:
		return nil, fault.New(ErrInvalid, "%q is not inside a home or course folder.", l.path)
	}
	r, err := openDirChecked(parent, name)
	if errors.Is(err, errNotRealDir) {
		// A top-level link or file is not a home or course folder at all.
		return nil, notFound(p)
	}
	if err != nil {
		return nil, mapErr(err, p)
	}
	return fenced(r, l)
}

// errNotRealDir stands for "a link or file where a folder was expected".
var errNotRealDir = errors.New("not a real folder")

// openDirChecked opens the folder name (relative to r) as a new Root, but
// only if it is a real folder, not a link: it is checked with Lstat and the
// opened folder must be that very folder, so swapping it for a link between
// the check and the open is caught rather than followed.
func openDirChecked(r *os.Root, name string) (*os.Root, error) {
	before, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !before.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRealDir}
	}
	sub, err := r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	after, err := sub.Stat(".")
	if err != nil {
		sub.Close()
		return nil, err
	}
	if !os.SameFile(before, after) {
		sub.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRealDir}
	}
	return sub, nil
}

// openRegular opens name (relative to r) for reading, only if it is the
// regular file expected (want, from Lstat; nil to accept any regular file).
// O_NONBLOCK keeps a FIFO planted by a student's program from hanging us.
func openRegular(r *os.Root, name string, want fs.FileInfo) (*os.File, fs.FileInfo, error) {
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || (want != nil && !os.SameFile(want, fi)) {
		f.Close()
		if fi.IsDir() {
			return nil, fi, &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
		}
		return nil, fi, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	return f, fi, nil
}

var errNotRegular = errors.New("not a regular file")

// readDirInfos lists dir (relative to r) with Lstat information: links are
// reported as links, never followed.
func readDirInfos(r *os.Root, dir string) ([]fs.FileInfo, error) {
	f, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdir(-1)
}

// mapErr turns a filesystem error about workspace path p into an error for a
// person. Refusals (fault.Error) pass through.
func mapErr(err error, p string) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fault.Wrap(err, ErrNotFound, "%q does not exist.", p)
	case errors.Is(err, fs.ErrExist):
		return fault.Wrap(err, ErrExists, "%q already exists.", p)
	case errors.Is(err, syscall.EISDIR):
		return fault.Wrap(err, ErrInvalid, "%q is a folder, not a file.", p)
	case errors.Is(err, errNotRegular):
		return fault.Wrap(err, ErrInvalid, "%q is not an ordinary file, so it cannot be opened here.", p)
	case errors.Is(err, errNotRealDir), isEscape(err), errors.Is(err, syscall.ELOOP):
		return fault.Wrap(err, ErrDenied, "%q goes through a link that points outside its folder, so it cannot be used.", p)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return fault.Wrap(err, ErrInvalid, "The path %q is too long.", p)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fault.Wrap(err, ErrDiskFull, "The server's disk is full. Please tell your teacher.")
	case errors.Is(err, syscall.EROFS):
		// The data volume was remounted read-only (a failing disk, a full
		// EFS burst...): nothing can be saved until an operator acts.
		return fault.Wrap(err, ErrReadOnly, "The server cannot save files right now (its disk is read-only). Please tell your teacher.")
	}
	return fault.Wrap(err, ErrFailed, "Something went wrong with %q on the server. Please try again.", p)
}

// isEscape recognizes os.Root's refusal to leave its folder; the error value
// is not exported, so its text is the only handle on it.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
