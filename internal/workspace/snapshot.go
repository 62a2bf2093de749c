package workspace

import (
	"os"
	"path/filepath"

	"github.com/pythonide/pythonide/internal/fault"
)

// Snapshot copies the folder p of a's own home (a student's assignment
// folder) to dest, a host folder outside the workspace that must not exist
// yet: through a hidden temp beside dest that is renamed into place after
// every file is synced, so a crash leaves the whole snapshot or none of it.
// The copy belongs to the server, not to the sandbox uid: no program can
// change it afterwards. It is bounded like a home (the quota's bytes and
// files); links and special files are left out, as in Copy.
func (w *Workspace) Snapshot(a Actor, p, dest string) (files int, bytes int64, err error) {
	src, err := resolve(a, p, readAccess)
	if err != nil {
		return 0, 0, err
	}
	if src.kind != kindHome || src.owner != a.Username || src.atScopeRoot() {
		return 0, 0, fault.New(ErrInvalid, "Only a folder of your own home can be handed in, not %q.", p)
	}
	sr, name, release, err := w.container(src)
	if err != nil {
		return 0, 0, err
	}
	defer release()
	fi, err := sr.Lstat(name)
	if err != nil {
		return 0, 0, mapErr(err, p)
	}
	if !fi.IsDir() {
		return 0, 0, fault.New(ErrInvalid, "%q is not a folder.", p)
	}
	sub, err := openDirChecked(sr, name)
	if err != nil {
		return 0, 0, mapErr(err, p)
	}
	u, err := treeUsage(sub, 0)
	sub.Close()
	if err != nil {
		return 0, 0, mapErr(err, p)
	}
	if u.Bytes > w.opts.QuotaBytes || w.opts.QuotaFiles > 0 && u.Entries > w.opts.QuotaFiles {
		return 0, 0, fault.New(ErrQuota, "%q holds %s in %d files and folders, more than a home may (%s, %d): remove what is not part of the work and hand it in again.",
			p, mb(u.Bytes), u.Entries, mb(w.opts.QuotaBytes), w.opts.QuotaFiles)
	}

	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return 0, 0, err
	}
	dr, err := os.OpenRoot(parent)
	if err != nil {
		return 0, 0, err
	}
	defer dr.Close()
	base := filepath.Base(dest)
	if _, err := dr.Lstat(base); err == nil {
		return 0, 0, fault.New(ErrExists, "A snapshot %s already exists.", base)
	}
	tmp := tempName()
	defer dr.RemoveAll(tmp) // a no-op once renamed into place
	if err := copyNode(sr, name, fi, dr, tmp, owner{}, 0); err != nil {
		return 0, 0, mapErr(err, p)
	}
	if err := syncTree(dr, tmp, 0); err != nil {
		return 0, 0, err
	}
	if err := dr.Rename(tmp, base); err != nil {
		return 0, 0, err
	}
	if err := syncDir(dr, "."); err != nil {
		return 0, 0, err
	}
	return u.Entries, u.Bytes, nil
}

// syncTree syncs every folder of the tree dir (its files were synced as
// they were written), so the entries survive a crash too.
func syncTree(r *os.Root, dir string, depth int) error {
	if depth > maxDepth {
		return tooDeep()
	}
	infos, err := readDirInfos(r, dir)
	if err != nil {
		return err
	}
	for _, fi := range infos {
		if fi.IsDir() {
			if err := syncTree(r, joinRel(dir, fi.Name()), depth+1); err != nil {
				return err
			}
		}
	}
	return syncDir(r, dir)
}
