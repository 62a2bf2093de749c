package workspace

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/pythonide/pythonide/internal/apierror"
)

// openScope opens the folder l is confined to: the home or the course folder.
func (w *Workspace) openScope(l loc) (*os.Root, error) {
	parent, name, p := w.data, l.course, l.course
	switch l.kind {
	case kindHome:
		parent, name, p = w.local, l.owner, localDir+"/"+l.owner
	case kindCourse:
	default:
		return nil, apierror.New(apierror.BadRequest, "%q is not inside a home or course folder.", l.path)
	}
	r, err := openDirChecked(parent, name)
	if errors.Is(err, errNotRealDir) {
		// A top-level link or file is not a home or course folder at all.
		return nil, notFound(p)
	}
	if err != nil {
		return nil, mapErr(err, p)
	}
	return r, nil
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
// person. Errors that are already *apierror.Error pass through.
func mapErr(err error, p string) error {
	if err == nil {
		return nil
	}
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return apierror.Wrap(err, apierror.NotFound, "%q does not exist.", p)
	case errors.Is(err, fs.ErrExist):
		return apierror.Wrap(err, apierror.Conflict, "%q already exists.", p)
	case errors.Is(err, syscall.EISDIR):
		return apierror.Wrap(err, apierror.BadRequest, "%q is a folder, not a file.", p)
	case errors.Is(err, errNotRegular):
		return apierror.Wrap(err, apierror.BadRequest, "%q is not an ordinary file, so it cannot be opened here.", p)
	case errors.Is(err, errNotRealDir), isEscape(err), errors.Is(err, syscall.ELOOP):
		return apierror.Wrap(err, apierror.Forbidden, "%q goes through a link that points outside its folder, so it cannot be used.", p)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return apierror.Wrap(err, apierror.BadRequest, "The path %q is too long.", p)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return apierror.Wrap(err, apierror.LimitReached, "The server's disk is full. Please tell your teacher.").WithStatus(507)
	case errors.Is(err, syscall.EROFS):
		// The data volume was remounted read-only (a failing disk, a full
		// EFS burst...): nothing can be saved until an operator acts.
		return apierror.Wrap(err, apierror.Unavailable, "The server cannot save files right now (its disk is read-only). Please tell your teacher.")
	}
	return apierror.Wrap(err, apierror.Internal, "Something went wrong with %q on the server. Please try again.", p)
}

// isEscape recognizes os.Root's refusal to leave its folder; the error value
// is not exported, so its text is the only handle on it.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
