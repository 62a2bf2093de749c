package workspace

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// Write saves r as the file p, atomically: the content goes to a hidden temp
// file beside it, is fsynced, and is renamed over the old file, so a crash
// leaves the old or the new content, never a mix. The parent folder must
// exist.
//
// ifMatch "" saves unconditionally; otherwise it is an If-Match value (one or
// more quoted ETags, or *) that must match the current file, else the save
// is refused with 412 — also when the file does not exist (any more). The
// check and the rename happen under the folder's lock, so of two saves based
// on the same version exactly one wins.
//
// In a home, with a history (Options.HistoryDir), the content a save
// replaces is kept as a version first (history.go).
func (w *Workspace) Write(a Actor, p string, r io.Reader, ifMatch string) (FileInfo, error) {
	l, err := resolve(a, p, writeAccess)
	if err != nil {
		return FileInfo{}, err
	}
	if err := fileTargetOK(l); err != nil {
		return FileInfo{}, err
	}
	root, err := w.openScope(l)
	if err != nil {
		return FileInfo{}, err
	}
	defer root.Close()

	dir := path.Dir(l.rel)
	if err := mustBeDir(root, dir, parentPath(l.path)); err != nil {
		return FileInfo{}, err
	}
	// Stream into the temp without holding the lock: a slow upload must not
	// block the folder's other saves. The visible file is untouched meanwhile.
	st, err := stageFile(root, dir, r, w.opts.MaxFileBytes, w.ownerFor(l))
	if errors.Is(err, errTooBig) {
		return FileInfo{}, fault.New(ErrTooLarge, "The file is too large: the limit is %s per file.", mb(w.opts.MaxFileBytes))
	}
	if err != nil {
		return FileInfo{}, mapErr(err, p)
	}
	defer st.discard()

	unlock := w.locks.lock(l.scopeKey())
	defer unlock()
	var info FileInfo
	commit := func() error {
		var err error
		info, err = w.commitWrite(a, l, p, root, st, ifMatch)
		return err
	}
	if ifMatch != "" && w.opts.SharedLock != nil {
		// Another instance may save the same file at the same moment: the
		// check and the rename are one step for all of them.
		err = w.opts.SharedLock(l.scopeKey(), commit)
	} else {
		err = commit()
	}
	return info, err
}

// commitWrite checks If-Match and the quota and renames the staged file
// over the target; the caller holds the folder's lock.
func (w *Workspace) commitWrite(a Actor, l loc, p string, root *os.Root, st *staged, ifMatch string) (FileInfo, error) {
	old, err := root.Lstat(l.rel)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return FileInfo{}, mapErr(err, p)
	}
	if exists && old.IsDir() {
		return FileInfo{}, fault.New(ErrExists, "%q is a folder; a file cannot replace it.", p)
	}
	if ifMatch != "" {
		if err := checkIfMatch(root, l.rel, old, exists, ifMatch, p); err != nil {
			return FileInfo{}, err
		}
	}
	var oldSize int64
	if exists && old.Mode().IsRegular() {
		oldSize = old.Size()
	}
	if l.kind == kindHome {
		if err := w.checkQuota(a, l.owner, root, st.size-oldSize); err != nil {
			return FileInfo{}, err
		}
	}
	if l.kind == kindHome && exists && old.Mode().IsRegular() && w.hist != nil {
		// The replaced content becomes a version first; failing to keep
		// it never costs the student the save.
		if err := w.keepVersion(l, root, old, st.etag()); err != nil {
			w.opts.Log.Warn("history: the replaced content was not kept", "path", p, "err", err)
		}
	}
	if err := st.commit(l.rel); err != nil {
		w.forgetUsage(l.owner)
		return FileInfo{}, mapErr(err, p)
	}
	if l.kind == kindHome {
		w.adjustUsage(l.owner, st.size-oldSize)
	}
	return FileInfo{Path: p, Size: st.size, Mtime: st.mtime, ETag: st.etag()}, nil
}

// fileTargetOK refuses writing a file where only folders may be.
func fileTargetOK(l loc) error {
	switch {
	case l.kind == kindRoot || l.kind == kindLocal:
		return fault.New(ErrExists, "%q is a folder; a file cannot replace it.", l.path)
	case l.kind == kindHome && l.atScopeRoot():
		return fault.New(ErrDenied, "Only students' folders can be directly inside Local; put files inside one of them.")
	case l.atScopeRoot():
		return fault.New(ErrInvalid, "Files cannot be placed at the top level; put %q inside a folder.", l.path)
	}
	return nil
}

// checkIfMatch compares the current file with an If-Match value.
func checkIfMatch(root *os.Root, rel string, old fs.FileInfo, exists bool, ifMatch, p string) error {
	stale := fault.New(ErrStale, "%q was changed somewhere else since you opened it. Reload it (copy your changes first) and save again.", p)
	if !exists || !old.Mode().IsRegular() {
		return stale
	}
	if strings.TrimSpace(ifMatch) == "*" {
		return nil
	}
	f, _, err := openRegular(root, rel, old)
	if err != nil {
		return stale // replaced between Lstat and open: not the version the client had
	}
	defer f.Close()
	cur, err := hashFile(f)
	if err != nil {
		return mapErr(err, p)
	}
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		if !strings.HasPrefix(t, `"`) {
			t = `"` + t + `"` // tolerate a bare tag; W/ tags never match (strong comparison)
		}
		if t == cur {
			return nil
		}
	}
	return stale
}

// mustBeDir checks that dir (relative to root, shown as p) is a folder.
func mustBeDir(root *os.Root, dir, p string) error {
	fi, err := root.Stat(dir)
	if err != nil {
		if isGone(err) {
			return fault.Wrap(err, ErrNotFound, "The folder %q does not exist.", p)
		}
		return mapErr(err, p)
	}
	if !fi.IsDir() {
		return fault.New(ErrNotFound, "The folder %q does not exist (it is a file).", p)
	}
	return nil
}

// parentPath is the workspace path of p's folder.
func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}
