package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// File history. When a save through Write replaces a regular file in a
// home, the content it replaces is kept first as a version, in
// Options.HistoryDir — outside the workspace, so no program and no listing
// ever sees it, and no home's quota counts it:
//
//	<HistoryDir>/<user>/<sha256 of the path inside the home, hex>/
//	    path                              the path inside the home, as text
//	    <unix nanos, 20 digits>-<etag>-<size>
//	                                      one version (its modification time:
//	                                      when that content was saved)
//	    .pythonide-tmp-…                  a version being written
//
// A version is written to a hidden temp, fsynced and renamed into place, so
// a crash leaves a whole version or none; a leftover temp is never listed
// and is removed once older than Options.StaleTempAge. Names are unique
// (time and content) and nothing lives only in memory, so two instances
// sharing the volume keep and see the same versions. A save reads only the
// names of its file's folder (what it needs is in them), so keeping and
// pruning cost no stat per version even on a network file system.
//
// Bounds, per file: a version is kept while it is among the file's newest
// 50 or was kept less than 14 days ago, and never more than 1000 (autosave
// saves often); they are pruned whenever the file gets a version and when
// it is listed. Per user: the whole history area holds at most
// Options.HistoryBytes (default the home quota); over it the oldest
// versions go first, but never a file's newest 5. Content the save could
// not write back (over Options.MaxFileBytes) is not kept.
//
// Only homes keep history: course folders are read by students, who must
// not see what a teacher replaced. A rename or move inside one home takes
// the history along; a move to another home leaves it at the old path, as
// does a delete (restoring from the trash to the same path continues it).
// Files changed by students' programs rather than saves are not versioned.

const (
	historyKeep     = 50                  // kept while among the file's newest 50 ...
	historyAge      = 14 * 24 * time.Hour // ... or kept less than 14 days ago ...
	historyMax      = 1000                // ... but never more than 1000 per file
	historyKeepOver = 5                   // the per-user bound never removes a file's newest 5
	histPathFile    = "path"
	areaFilePerm    = 0o600
	areaDirPerm     = 0o700
)

// Version is one earlier content of a file.
type Version struct {
	ID      string    `json:"id"`
	SavedAt time.Time `json:"saved_at"` // when that content was saved (the file's modification time when a save replaced it)
	Size    int64     `json:"size"`
	ETag    string    `json:"etag"` // as the file's ETag was then
}

// historyLoc checks that a may see the history of p, a file in a home.
// Another student's file is "not found", exactly as reading it is.
func (w *Workspace) historyLoc(a Actor, p string) (loc, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return loc{}, err
	}
	if l.kind != kindHome || l.atScopeRoot() {
		return loc{}, fault.New(ErrInvalid, "Earlier versions are kept only for files in a home folder (Local/<username>/…), not for %q.", p)
	}
	if w.hist == nil {
		return loc{}, fault.New(ErrInvalid, "This server keeps no earlier versions of files (it runs without a history folder).")
	}
	return l, nil
}

// histDir is the history folder of l (relative to the history area).
func histDir(owner, rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return owner + "/" + hex.EncodeToString(sum[:])
}

// History lists the kept versions of the file p, newest first. The file
// need not exist any more.
func (w *Workspace) History(a Actor, p string) ([]Version, error) {
	l, err := w.historyLoc(a, p)
	if err != nil {
		return nil, err
	}
	dir := histDir(l.owner, l.rel)
	if !w.historyOf(dir, l.rel) {
		return []Version{}, nil
	}
	names, err := w.versionNames(dir)
	if err != nil {
		return nil, mapErr(err, p)
	}
	names = w.pruneVersions(dir, names)
	vs := make([]Version, 0, len(names))
	for _, n := range names {
		fi, err := w.hist.Lstat(dir + "/" + n.id)
		if err != nil || !fi.Mode().IsRegular() {
			continue // pruned by another instance meanwhile
		}
		vs = append(vs, n.version(fi))
	}
	return vs, nil
}

// Version opens one kept version of p; the caller closes it.
func (w *Workspace) Version(a Actor, p, id string) (io.ReadSeekCloser, Version, error) {
	l, err := w.historyLoc(a, p)
	if err != nil {
		return nil, Version{}, err
	}
	name, ok := parseVersionID(id)
	if !ok {
		return nil, Version{}, fault.New(ErrInvalid, "%q is not a version of a file.", id)
	}
	gone := fault.New(ErrNotFound, "That earlier version of %q is not kept (any more).", p)
	dir := histDir(l.owner, l.rel)
	if !w.historyOf(dir, l.rel) {
		return nil, Version{}, gone
	}
	f, err := w.hist.Open(dir + "/" + id)
	if isGone(err) {
		return nil, Version{}, gone
	}
	if err != nil {
		return nil, Version{}, mapErr(err, p)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, Version{}, gone
	}
	return f, name.version(fi), nil
}

// Restore saves the version id as the file p's content, as an ordinary save
// (quota, size limit, permissions), so what the file held becomes a version
// itself. The file's folder must exist.
func (w *Workspace) Restore(a Actor, p, id string) (FileInfo, error) {
	f, _, err := w.Version(a, p, id)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	return w.Write(a, p, f, "")
}

// historyOf reports whether dir is the history folder of rel (it exists and
// says so; anything else — a hash collision — is treated as no history).
func (w *Workspace) historyOf(dir, rel string) bool {
	b, err := w.hist.ReadFile(dir + "/" + histPathFile)
	return err == nil && string(b) == rel
}

// versionName is what a version's name says.
type versionName struct {
	id   string
	at   time.Time // when it was kept
	sum  string    // its ETag, unquoted
	size int64
}

// parseVersionID checks a version's name and reads it.
func parseVersionID(id string) (versionName, bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || len(parts[0]) != 20 || len(parts[1]) != 32 || parts[2] == "" || len(parts[2]) > 19 ||
		strings.Trim(parts[0], "0123456789") != "" || strings.Trim(parts[1], "0123456789abcdef") != "" || strings.Trim(parts[2], "0123456789") != "" ||
		(parts[2] != "0" && parts[2][0] == '0') {
		return versionName{}, false
	}
	n, err1 := strconv.ParseInt(parts[0], 10, 64)
	size, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return versionName{}, false
	}
	return versionName{id: id, at: time.Unix(0, n), sum: parts[1], size: size}, true
}

func (n versionName) etag() string { return `"` + n.sum + `"` }

func (n versionName) version(fi fs.FileInfo) Version {
	return Version{ID: n.id, SavedAt: fi.ModTime().UTC(), Size: n.size, ETag: n.etag()}
}

// versionNames lists the versions in dir, newest first, from their names
// alone; leftover temps older than StaleTempAge are removed.
func (w *Workspace) versionNames(dir string) ([]versionName, error) {
	d, err := w.hist.Open(dir)
	if isGone(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	now := w.opts.Now()
	var vs []versionName
	for _, name := range names {
		if strings.HasPrefix(name, tempPrefix) {
			if fi, err := w.hist.Lstat(dir + "/" + name); err == nil && now.Sub(fi.ModTime()) > w.opts.StaleTempAge {
				w.hist.Remove(dir + "/" + name) // left by a crash mid-version
			}
			continue
		}
		if n, ok := parseVersionID(name); ok {
			vs = append(vs, n)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].id > vs[j].id })
	return vs, nil
}

// pruneVersions removes from dir the versions (vs, newest first) past the
// file's bounds and returns the rest.
func (w *Workspace) pruneVersions(dir string, vs []versionName) []versionName {
	now := w.opts.Now()
	kept := make([]versionName, 0, min(len(vs), historyMax))
	for i, v := range vs {
		if i < historyKeep || (i < historyMax && now.Sub(v.at) < historyAge) {
			kept = append(kept, v)
			continue
		}
		if err := w.hist.Remove(dir + "/" + v.id); err != nil && !isGone(err) {
			w.opts.Log.Warn("history: an old version could not be removed", "version", dir+"/"+v.id, "err", err)
			kept = append(kept, v)
		}
	}
	return kept
}

// keepVersion keeps the file l (old, from Lstat, in the home root) as a
// version before a save replaces it with content newTag. The caller holds
// the home's lock. Saving the same content again, or content equal to the
// newest version, keeps nothing.
func (w *Workspace) keepVersion(l loc, home *os.Root, old fs.FileInfo, newTag string) error {
	if old.Size() > w.opts.MaxFileBytes {
		return nil // a save could never write it back
	}
	f, fi, err := openRegular(home, l.rel, old)
	if err != nil {
		if skippable(err) {
			return nil // replaced since the check: not what the save replaces
		}
		return err
	}
	defer f.Close()
	dir := histDir(l.owner, l.rel)
	if err := w.ensureHistDir(l.owner, dir, l.rel); err != nil {
		return err
	}
	vs, err := w.versionNames(dir)
	if err != nil {
		return err
	}

	// One pass copies and hashes, so the name always matches the content
	// even if a program is writing the file meanwhile.
	tmp := dir + "/" + tempName()
	out, err := w.hist.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, areaFilePerm)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			out.Close()
			w.hist.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := copyData(io.MultiWriter(out, h), io.LimitReader(f, w.opts.MaxFileBytes+1))
	if err != nil {
		return err
	}
	tag := etagOf(h.Sum(nil))
	if n > w.opts.MaxFileBytes || tag == newTag || (len(vs) > 0 && vs[0].etag() == tag) {
		return nil
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	mt := fi.ModTime()
	if err := w.hist.Chtimes(tmp, mt, mt); err != nil {
		return err
	}
	nanos := max(w.opts.Now().UnixNano(), 0)
	if len(vs) > 0 {
		// Another instance's clock may be ahead: the newest stays newest.
		if last := vs[0].at.UnixNano(); nanos <= last {
			nanos = last + 1
		}
	}
	sum := strings.Trim(tag, `"`)
	id := fmt.Sprintf("%020d-%s-%d", nanos, sum, n)
	if err := w.hist.Rename(tmp, dir+"/"+id); err != nil {
		return err
	}
	done = true
	if err := syncDir(w.hist, dir); err != nil {
		return err
	}
	w.pruneVersions(dir, append([]versionName{{id: id, at: time.Unix(0, nanos), sum: sum, size: n}}, vs...))
	w.boundUserHistory(l.owner, n)
	return nil
}

// ensureHistDir makes the user's history folder dir for rel, with its path
// file.
func (w *Workspace) ensureHistDir(owner, dir, rel string) error {
	for _, d := range []string{owner, dir} {
		if err := w.hist.Mkdir(d, areaDirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	b, err := w.hist.ReadFile(dir + "/" + histPathFile)
	if err == nil {
		if string(b) == rel {
			return nil
		}
		return fmt.Errorf("history folder %s is the history of %q, not of %q", dir, b, rel)
	}
	if !isGone(err) {
		return err
	}
	return writeAtomic(w.hist, dir, histPathFile, []byte(rel))
}

// writeAtomic writes a small file name in dir of r through a temp, fsynced
// and renamed into place.
func writeAtomic(r *os.Root, dir, name string, data []byte) error {
	tmp := joinRel(dir, tempName())
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, areaFilePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, joinRel(dir, name))
	}
	if err != nil {
		r.Remove(tmp)
		return err
	}
	return syncDir(r, dir)
}

// boundUserHistory applies the per-user bound after added bytes were kept.
// The user's total is measured at most every Options.UsageTTL (another
// instance's versions are noticed then); between, our own are added.
func (w *Workspace) boundUserHistory(owner string, added int64) {
	w.histMu.Lock()
	e, ok := w.histUsage[owner]
	fresh := ok && w.opts.UsageTTL > 0 && time.Since(e.at) < w.opts.UsageTTL
	if fresh {
		e.bytes += added
		w.histUsage[owner] = e
	}
	w.histMu.Unlock()
	if fresh && e.bytes <= w.opts.HistoryBytes {
		return
	}
	total, err := w.pruneUserHistory(owner)
	w.histMu.Lock()
	if err != nil {
		delete(w.histUsage, owner)
	} else {
		w.histUsage[owner] = usageEntry{bytes: total, at: time.Now()}
	}
	w.histMu.Unlock()
	if err != nil {
		w.opts.Log.Warn("history: the user's history could not be measured", "user", owner, "err", err)
	}
}

// pruneUserHistory measures the user's history area and, over
// Options.HistoryBytes, removes the oldest versions that are not among
// their file's newest 5. It returns the bytes left.
func (w *Workspace) pruneUserHistory(owner string) (int64, error) {
	dirs, err := readDirInfos(w.hist, owner)
	if isGone(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	type candidate struct {
		name string
		at   string // the version's id: its time first
		size int64
	}
	var total int64
	var cands []candidate
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), tempPrefix) {
			continue
		}
		dir := owner + "/" + d.Name()
		vs, err := w.versionNames(dir)
		if err != nil {
			return 0, err
		}
		for i, v := range vs {
			total += v.size
			if i >= historyKeepOver {
				cands = append(cands, candidate{dir + "/" + v.id, v.id, v.size})
			}
		}
	}
	if total <= w.opts.HistoryBytes {
		return total, nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].at < cands[j].at })
	for _, c := range cands {
		if total <= w.opts.HistoryBytes {
			break
		}
		if err := w.hist.Remove(c.name); err == nil || isGone(err) {
			total -= c.size
		}
	}
	return total, nil
}

// moveHistory takes the history of from (a file, or every file under a
// folder) along to to, after a rename inside the owner's home. The caller
// holds the home's lock. Each version is renamed on its own into the new
// path's folder, so a crash leaves every version under one path or the
// other, never lost.
func (w *Workspace) moveHistory(owner, from, to string, folder bool) {
	if w.hist == nil {
		return
	}
	moves := map[string]string{} // history folder -> new path inside the home
	if d := histDir(owner, from); w.historyOf(d, from) {
		moves[d] = to
	}
	if folder {
		dirs, err := readDirInfos(w.hist, owner)
		if err != nil && !isGone(err) {
			w.opts.Log.Warn("history: a moved folder's history was left at the old path", "user", owner, "from", from, "err", err)
		}
		for _, d := range dirs {
			dir := owner + "/" + d.Name()
			if !d.IsDir() || strings.HasPrefix(d.Name(), tempPrefix) {
				continue
			}
			b, err := w.hist.ReadFile(dir + "/" + histPathFile)
			if p := string(b); err == nil && strings.HasPrefix(p, from+"/") {
				moves[dir] = to + p[len(from):]
			}
		}
	}
	for dir, rel := range moves {
		if err := w.moveHistoryDir(owner, dir, rel); err != nil {
			w.opts.Log.Warn("history: a moved file's history was left (partly) at the old path", "user", owner, "history", dir, "to", rel, "err", err)
		}
	}
}

func (w *Workspace) moveHistoryDir(owner, dir, rel string) error {
	to := histDir(owner, rel)
	if err := w.ensureHistDir(owner, to, rel); err != nil {
		return err
	}
	vs, err := w.versionNames(dir)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := w.hist.Rename(dir+"/"+v.id, to+"/"+v.id); err != nil && !isGone(err) {
			return err
		}
	}
	if err := syncDir(w.hist, to); err != nil {
		return err
	}
	if left, err := w.versionNames(dir); err == nil && len(left) == 0 {
		w.hist.Remove(dir + "/" + histPathFile)
		w.hist.Remove(dir)
	}
	moved, err := w.versionNames(to)
	if err != nil {
		return err
	}
	w.pruneVersions(to, moved)
	return nil
}
