package workspace

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pythonide/pythonide/internal/fault"
)

// The trash. With Options.TrashDir set, Delete of a file, folder or link in
// a home moves it, in one rename, into the home owner's trash — outside the
// workspace, so no program and no listing sees it and no home's quota
// counts it:
//
//	<TrashDir>/<user>/<id>/meta.json  {"path","type","size","deleted_at","deleted_by"}
//	<TrashDir>/<user>/<id>/item       the file, folder or link itself
//	<TrashDir>/<user>/.pythonide-tmp-… an entry being made
//
// The id is <unix nanos, 20 digits>-<16 random hex>: unique across
// instances sharing the volume. The entry with its meta.json is made first
// (through a hidden temp folder renamed into place), then the item is
// renamed into it, so after a crash the item is either still in the home
// or in a complete entry; an entry without its item is never listed and is
// removed once older than Options.StaleTempAge.
//
// Bounds, per user: an item is purged 14 days after it was deleted; the
// trash holds at most Options.TrashBytes (default the home quota) and 1000
// items, the oldest purged first but never the newest (so one item larger
// than the bound still waits its 14 days). Purging happens on every delete
// and every listing. Course folders have no trash: a teacher's delete there
// is final.
//
// Restoring puts the item back at its path — or, when something is there
// now, beside it as "name (restored)", "name (restored 2)"…, never
// overwriting — recreating missing parent folders; it counts against the
// home's quota like any write.

const (
	trashAge      = 14 * 24 * time.Hour
	trashMaxItems = 1000
	trashMetaFile = "meta.json"
	trashItemName = "item"
)

// TrashItem is one deleted file, folder or link.
type TrashItem struct {
	ID        string    `json:"id"`
	Path      string    `json:"path"` // the workspace path it was deleted from
	Type      string    `json:"type"` // "file" | "dir" | "link"
	Size      int64     `json:"size"` // bytes of its regular files
	DeletedAt time.Time `json:"deleted_at"`
}

type trashMeta struct {
	Path      string    `json:"path"`
	Type      string    `json:"type"`
	Size      int64     `json:"size"`
	DeletedAt time.Time `json:"deleted_at"`
	DeletedBy string    `json:"deleted_by"`
}

// renameAcross renames srcRel of sr to dstRel of dr (another root on the
// same file system), never replacing anything at dstRel; both parents are
// opened through their roots, so neither side can lead out of its root. A
// variable so tests can make it fail as between two file systems (EXDEV).
var renameAcross = func(sr *os.Root, srcRel string, dr *os.Root, dstRel string) error {
	return withDirFD(sr, path.Dir(srcRel), func(sfd int) error {
		return withDirFD(dr, path.Dir(dstRel), func(dfd int) error {
			from, to := path.Base(srcRel), path.Base(dstRel)
			err := unix.Renameat2(sfd, from, dfd, to, unix.RENAME_NOREPLACE)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP) {
				// No RENAME_NOREPLACE here (some network file systems):
				// check, then rename; the caller holds the folder's lock.
				var st unix.Stat_t
				if err := unix.Fstatat(dfd, to, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
					return &os.LinkError{Op: "rename", Old: srcRel, New: dstRel, Err: syscall.EEXIST}
				}
				err = unix.Renameat(sfd, from, dfd, to)
			}
			if err != nil {
				return &os.LinkError{Op: "rename", Old: srcRel, New: dstRel, Err: err}
			}
			return nil
		})
	})
}

// withDirFD runs fn with a descriptor of the folder dir of r.
func withDirFD(r *os.Root, dir string, fn func(fd int) error) error {
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// toTrash moves the item l (fi from Lstat, name l.rel in the home root)
// into its owner's trash. The caller holds the home's lock.
func (w *Workspace) toTrash(a Actor, l loc, home *os.Root, fi fs.FileInfo) error {
	m := trashMeta{Path: l.path, DeletedBy: a.Username}
	switch {
	case fi.Mode().IsRegular():
		m.Type, m.Size = "file", fi.Size()
	case fi.IsDir():
		sub, err := openDirChecked(home, l.rel)
		if err != nil {
			return err
		}
		m.Type = "dir"
		m.Size, err = treeSize(sub, 0)
		sub.Close()
		if err != nil {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		m.Type = "link"
	default:
		return home.RemoveAll(l.rel) // a FIFO or socket: nothing to keep
	}
	user := l.owner
	if _, err := w.listTrash(user); err != nil { // purges what is due first
		w.opts.Log.Warn("trash: purging failed", "user", user, "err", err)
	}
	now := w.opts.Now()
	m.DeletedAt = now.UTC()
	id := newTrashID(now)
	meta, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := w.trash.Mkdir(user, areaDirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := user + "/" + tempName()
	if err := w.trash.Mkdir(tmp, areaDirPerm); err != nil {
		return err
	}
	defer w.trash.RemoveAll(tmp) // a no-op once renamed
	if err := writeAtomic(w.trash, tmp, trashMetaFile, meta); err != nil {
		return err
	}
	entry := user + "/" + id
	if err := w.trash.Rename(tmp, entry); err != nil {
		return err
	}
	if err := syncDir(w.trash, user); err != nil {
		w.trash.RemoveAll(entry)
		return err
	}
	err = renameAcross(home, l.rel, w.trash, entry+"/"+trashItemName)
	if errors.Is(err, syscall.EXDEV) {
		if m.Type == "link" { // a link cannot be copied: it is deleted for good
			w.trash.RemoveAll(entry)
			return home.Remove(l.rel)
		}
		err = w.copyToTrash(home, l.rel, fi, entry)
	}
	if err != nil {
		w.trash.RemoveAll(entry)
		return err
	}
	if err := syncDir(w.trash, entry); err != nil {
		return err
	}
	if err := syncDir(home, path.Dir(l.rel)); err != nil {
		return err
	}
	if w.homeOwner().on {
		// A program still inside the folder (its working directory) could
		// otherwise go on adding to it where no quota counts it.
		server := owner{uid: os.Geteuid(), gid: os.Getegid(), on: true}
		if err := chownTree(w.trash, entry+"/"+trashItemName, fi, server, true, 0); err != nil {
			w.opts.Log.Warn("trash: an item was not taken from the programs' user", "item", entry, "err", err)
		}
	}
	w.boundTrash(user, id)
	return nil
}

// chownTree gives the tree name of r (fi from Lstat) to own, top down,
// never following links; seal also takes group's and others' write off its
// folders and files. Top down matters: once a folder is the server's, no
// program can swap what is in it for a link before it is reached.
func chownTree(r *os.Root, name string, fi fs.FileInfo, own owner, seal bool, depth int) error {
	if err := r.Lchown(name, own.uid, own.gid); err != nil {
		return err
	}
	if seal && fi.Mode().IsRegular() && fi.Mode().Perm()&0o022 != 0 {
		if err := r.Chmod(name, fi.Mode().Perm()&^0o022); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return nil
	}
	if depth > maxDepth {
		return tooDeep()
	}
	if seal {
		if err := r.Chmod(name, fi.Mode().Perm()&^0o022); err != nil {
			return err
		}
	}
	sub, err := openDirChecked(r, name)
	if err != nil {
		return err
	}
	defer sub.Close()
	infos, err := readDirInfos(sub, ".")
	if err != nil {
		return err
	}
	for _, c := range infos {
		if err := chownTree(sub, c.Name(), c, own, seal, depth+1); err != nil && !isGone(err) {
			return err
		}
	}
	return nil
}

// copyToTrash is the move into the trash when it is on another file
// system: a copy (links and special files inside a folder left out, as in
// Copy) renamed into the entry, then the original removed.
func (w *Workspace) copyToTrash(home *os.Root, rel string, fi fs.FileInfo, entry string) error {
	tmp := entry + "/" + tempName()
	defer w.trash.RemoveAll(tmp) // a no-op once renamed
	if err := copyNode(home, rel, fi, w.trash, tmp, owner{}, 0); err != nil {
		return err
	}
	if err := syncTree(w.trash, tmp, 0); err != nil {
		return err
	}
	if err := w.trash.Rename(tmp, entry+"/"+trashItemName); err != nil {
		return err
	}
	return home.RemoveAll(rel)
}

// newTrashID is a fresh, unique, time-ordered item id.
func newTrashID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%020d-%s", max(now.UnixNano(), 0), hex.EncodeToString(b[:]))
}

// parseTrashID checks an item id and gives the time of its delete.
func parseTrashID(id string) (time.Time, bool) {
	digits, rnd, ok := strings.Cut(id, "-")
	if !ok || len(digits) != 20 || len(rnd) != 16 || strings.Trim(digits, "0123456789") != "" || strings.Trim(rnd, "0123456789abcdef") != "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// trashOwner is whose trash a asks for: their own (user ""), or any user's
// for a professor. Another student's is "not found", as their home is.
func (w *Workspace) trashOwner(a Actor, user string) (string, error) {
	if user == "" {
		user = a.Username
	}
	if !validName(user) {
		return "", fault.New(ErrInvalid, "The username %q is not valid.", user)
	}
	if !a.Professor && user != a.Username {
		return "", notFound(localDir + "/" + user)
	}
	if w.trash == nil {
		return "", fault.New(ErrInvalid, "This server keeps no trash: deleted files are deleted for good.")
	}
	return user, nil
}

// Trash lists the items in the trash of user ("" for a's own; a professor
// may name anyone), newest first, after purging what is due.
func (w *Workspace) Trash(a Actor, user string) ([]TrashItem, error) {
	owner, err := w.trashOwner(a, user)
	if err != nil {
		return nil, err
	}
	items, err := w.listTrash(owner)
	if err != nil {
		return nil, fault.Wrap(err, ErrFailed, "The trash could not be read. Please try again.")
	}
	out := make([]TrashItem, 0, len(items))
	for _, it := range items {
		out = append(out, it.TrashItem)
	}
	return out, nil
}

type trashEntry struct{ TrashItem }

// listTrash reads the owner's trash, newest first, purging items older
// than 14 days and leftovers of interrupted deletes.
func (w *Workspace) listTrash(owner string) ([]trashEntry, error) {
	infos, err := readDirInfos(w.trash, owner)
	if isGone(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := w.opts.Now()
	var items []trashEntry
	for _, fi := range infos {
		name, entry := fi.Name(), owner+"/"+fi.Name()
		stale := now.Sub(fi.ModTime()) > w.opts.StaleTempAge
		if strings.HasPrefix(name, tempPrefix) {
			if stale {
				w.trash.RemoveAll(entry)
			}
			continue
		}
		at, ok := parseTrashID(name)
		if !ok || !fi.IsDir() {
			continue
		}
		if now.Sub(at) >= trashAge {
			if err := w.trash.RemoveAll(entry); err != nil {
				w.opts.Log.Warn("trash: an old item could not be purged", "item", entry, "err", err)
			}
			continue
		}
		m, err := w.readTrashMeta(entry)
		if err == nil {
			_, err = w.trash.Lstat(entry + "/" + trashItemName)
		}
		if err != nil { // being made or restored, or left by a crash
			if stale {
				w.trash.RemoveAll(entry)
			}
			continue
		}
		items = append(items, trashEntry{TrashItem{ID: name, Path: m.Path, Type: m.Type, Size: m.Size, DeletedAt: m.DeletedAt.UTC()}})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID > items[j].ID })
	return items, nil
}

func (w *Workspace) readTrashMeta(entry string) (trashMeta, error) {
	var m trashMeta
	b, err := w.trash.ReadFile(entry + "/" + trashMetaFile)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	return m, nil
}

// boundTrash purges the oldest items of the owner's trash while it holds
// more than its bytes or items, never the newest (keep).
func (w *Workspace) boundTrash(owner, keep string) {
	items, err := w.listTrash(owner)
	if err != nil {
		w.opts.Log.Warn("trash: purging failed", "user", owner, "err", err)
		return
	}
	var total int64
	for _, it := range items {
		total += it.Size
	}
	for i := len(items) - 1; i >= 0 && (total > w.opts.TrashBytes || i >= trashMaxItems); i-- {
		if items[i].ID == keep {
			continue
		}
		if err := w.trash.RemoveAll(owner + "/" + items[i].ID); err != nil {
			w.opts.Log.Warn("trash: an item could not be purged", "item", owner+"/"+items[i].ID, "err", err)
			continue
		}
		total -= items[i].Size
	}
}

// RestoreTrash puts the item id of user's trash ("" for a's own; a
// professor may name anyone) back at its path, or beside what is there now
// as "name (restored)", "name (restored 2)"…, recreating its missing parent
// folders. It counts against the home's quota. It returns the workspace
// path the item is at now.
func (w *Workspace) RestoreTrash(a Actor, user, id string) (string, error) {
	owner, err := w.trashOwner(a, user)
	if err != nil {
		return "", err
	}
	if _, ok := parseTrashID(id); !ok {
		return "", fault.New(ErrInvalid, "%q is not an item of the trash.", id)
	}
	gone := fault.New(ErrNotFound, "That item is not in the trash any more: it was restored or purged.")
	entry := owner + "/" + id
	m, err := w.readTrashMeta(entry)
	if isGone(err) {
		return "", gone
	}
	if err != nil {
		return "", fault.Wrap(err, ErrFailed, "The trash could not be read. Please try again.")
	}
	item := entry + "/" + trashItemName
	fi, err := w.trash.Lstat(item)
	if isGone(err) {
		return "", gone
	}
	if err != nil {
		return "", fault.Wrap(err, ErrFailed, "The trash could not be read. Please try again.")
	}
	l, err := resolve(a, m.Path, writeAccess)
	if err != nil {
		return "", err
	}
	if l.kind != kindHome || l.owner != owner || l.atScopeRoot() {
		return "", fault.New(ErrFailed, "That item of the trash names a place it cannot go back to (%q).", m.Path)
	}
	root, err := w.openScope(l)
	if err != nil {
		return "", err
	}
	defer root.Close()
	unlock := w.locks.lock(l.scopeKey())
	defer unlock()
	if err := w.checkQuota(a, owner, root, m.Size); err != nil {
		return "", err
	}
	if parent := parentPath(l.path); parent != localDir+"/"+owner {
		if err := w.mkdirAll(a, parent); err != nil { // the folder was deleted since
			return "", err
		}
	}
	dir, base := path.Dir(l.rel), path.Base(l.rel)
	for n := 0; n < 100; n++ {
		name := restoredName(base, n, fi.IsDir())
		if !validName(name) {
			break
		}
		rel := joinRel(dir, name)
		p := localDir + "/" + owner + "/" + rel
		if err := mustNotExist(root, rel, p); errors.Is(err, ErrExists) {
			continue
		} else if err != nil {
			return "", err
		}
		err := renameAcross(w.trash, item, root, rel)
		if errors.Is(err, syscall.EXDEV) {
			err = w.copyFromTrash(item, fi, root, rel, w.ownerFor(l))
		}
		if errors.Is(err, fs.ErrExist) {
			continue // appeared since the check
		}
		if err != nil {
			if _, serr := w.trash.Lstat(item); isGone(serr) {
				return "", gone // restored by someone else meanwhile
			}
			return "", mapErr(err, p)
		}
		w.forgetUsage(owner)
		if own := w.ownerFor(l); own.on {
			if err := chownTree(root, rel, fi, own, false, 0); err != nil {
				w.opts.Log.Warn("trash: a restored item was not given back to the programs' user", "path", p, "err", err)
			}
		}
		if err := syncDir(root, dir); err != nil {
			return "", mapErr(err, p)
		}
		if err := w.trash.RemoveAll(entry); err != nil {
			w.opts.Log.Warn("trash: a restored item's entry was left", "item", entry, "err", err)
		}
		return p, nil
	}
	return "", fault.New(ErrExists, "%q cannot be put back: there is something at its name and at every \"(restored)\" name beside it.", m.Path)
}

// restoredName is the name an item restored beside base gets on the n-th
// try: base itself, then "name (restored).ext", "name (restored 2).ext"…
// (a file keeps its extension, so a program still runs).
func restoredName(base string, n int, folder bool) string {
	if n == 0 {
		return base
	}
	stem, ext := base, ""
	if e := path.Ext(base); !folder && e != base && e != "" {
		stem, ext = strings.TrimSuffix(base, e), e
	}
	tag := " (restored)"
	if n > 1 {
		tag = fmt.Sprintf(" (restored %d)", n)
	}
	return stem + tag + ext
}

// copyFromTrash is the move out of the trash when the home is on another
// file system: a copy renamed into place (never over anything), then the
// item removed from the trash. The caller holds the home's lock.
func (w *Workspace) copyFromTrash(item string, fi fs.FileInfo, root *os.Root, rel string, own owner) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fault.New(ErrInvalid, "A link cannot be restored onto another disk.")
	}
	tmp := joinRel(path.Dir(rel), tempName())
	defer root.RemoveAll(tmp) // a no-op once renamed
	if err := copyNode(w.trash, item, fi, root, tmp, own, 0); err != nil {
		return err
	}
	if _, err := root.Lstat(rel); err == nil {
		return &os.LinkError{Op: "rename", Old: item, New: rel, Err: syscall.EEXIST}
	}
	if err := root.Rename(tmp, rel); err != nil {
		return err
	}
	return w.trash.RemoveAll(item)
}
