package workspace

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// Entry is one file or folder as an actor sees it.
type Entry struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"` // workspace path, e.g. "Local/alice/hw1.py"
	Type     string    `json:"type"` // "file" | "dir" | "link"
	Size     int64     `json:"size"`
	Mtime    time.Time `json:"mtime"`
	Writable bool      `json:"writable"` // for folders: may create and change things inside
	// A symbolic link (made by a student's program) has type "link", size
	// 0 and Link true; it can be seen, renamed and deleted, and opening it
	// works only if it points to a file in the same home or course folder.
	// Where it points is not shown: it may name a host path.
	Link bool `json:"link,omitempty"`
}

// FileInfo describes a file's content as read or saved.
type FileInfo struct {
	Path  string    `json:"path"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	ETag  string    `json:"etag"` // strong, quoted, content-based
}

// List lists a folder ("" = the workspace root). Folders come first, then
// files, each sorted by name. Hidden temps are never listed.
func (w *Workspace) List(a Actor, p string) ([]Entry, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	switch l.kind {
	case kindRoot:
		names, err := topFolders(w.data)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if fi, err := w.data.Lstat(n); err == nil {
				entries = append(entries, w.entry(a, n, fi))
			}
		}
	case kindLocal:
		names, err := topFolders(w.local)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !a.Professor && n != a.Username {
				continue // a student sees only their own home
			}
			if fi, err := w.local.Lstat(n); err == nil {
				entries = append(entries, w.entry(a, localDir+"/"+n, fi))
			}
		}
	default:
		root, err := w.openScope(l)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		dir, err := root.Open(l.rel)
		if err != nil {
			return nil, mapErr(err, l.path)
		}
		defer dir.Close()
		if fi, err := dir.Stat(); err != nil {
			return nil, mapErr(err, l.path)
		} else if !fi.IsDir() {
			return nil, fault.New(ErrInvalid, "%q is a file, not a folder.", l.path)
		}
		infos, err := dir.Readdir(-1)
		if err != nil {
			return nil, mapErr(err, l.path)
		}
		for _, fi := range infos {
			if strings.HasPrefix(fi.Name(), tempPrefix) {
				if time.Since(fi.ModTime()) > w.opts.StaleTempAge {
					root.RemoveAll(joinRel(l.rel, fi.Name())) // left by a crash mid-write
				}
				continue
			}
			if !fi.Mode().IsRegular() && !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
				continue // FIFOs, sockets, devices: nothing a person can use
			}
			entries = append(entries, w.entry(a, l.path+"/"+fi.Name(), fi))
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if (entries[i].Type == "dir") != (entries[j].Type == "dir") {
			return entries[i].Type == "dir"
		}
		return entries[i].Name < entries[j].Name
	})
	if entries == nil {
		entries = []Entry{}
	}
	return entries, nil
}

// entry describes fi (from Lstat) found at workspace path p, for a.
func (w *Workspace) entry(a Actor, p string, fi fs.FileInfo) Entry {
	e := Entry{Path: p, Mtime: fi.ModTime(), Type: "file"}
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		e.Name = p[i+1:]
	} else {
		e.Name = p
	}
	if l, err := classify(p); err == nil {
		e.Writable = canWrite(a, l)
	}
	switch {
	case fi.IsDir():
		e.Type = "dir"
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Type, e.Link = "link", true
	default:
		e.Size = fi.Size()
	}
	return e
}

// Stat describes one file or folder without following a final link.
func (w *Workspace) Stat(a Actor, p string) (Entry, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return Entry{}, err
	}
	var fi fs.FileInfo
	switch {
	case l.kind == kindRoot:
		fi, err = w.data.Stat(".")
	case l.kind == kindLocal:
		fi, err = w.local.Stat(".")
	case l.atScopeRoot():
		var root *os.Root
		if root, err = w.openScope(l); err == nil {
			fi, err = root.Stat(".")
			root.Close()
		}
	default:
		var root *os.Root
		if root, err = w.openScope(l); err == nil {
			fi, err = root.Lstat(l.rel)
			root.Close()
		}
	}
	if err != nil {
		return Entry{}, mapErr(err, p)
	}
	e := w.entry(a, p, fi)
	if l.kind == kindRoot {
		e.Name = ""
	}
	return e, nil
}

// Read opens a file for reading. The caller closes it. The ETag is computed
// from the content (one pass over the file).
func (w *Workspace) Read(a Actor, p string) (io.ReadSeekCloser, FileInfo, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return nil, FileInfo{}, err
	}
	if l.kind == kindRoot || l.kind == kindLocal || l.atScopeRoot() {
		return nil, FileInfo{}, fault.New(ErrInvalid, "%q is a folder, not a file.", p)
	}
	root, err := w.openScope(l)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer root.Close() // the open file outlives its Root
	f, fi, err := openRegular(root, l.rel, nil)
	if err != nil {
		return nil, FileInfo{}, mapErr(err, p)
	}
	tag, err := hashFile(f)
	if err != nil {
		f.Close()
		return nil, FileInfo{}, mapErr(err, p)
	}
	return f, FileInfo{Path: p, Size: fi.Size(), Mtime: fi.ModTime(), ETag: tag}, nil
}

// hashFile computes f's ETag and rewinds it.
func hashFile(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := copyData(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return etagOf(h.Sum(nil)), nil
}
