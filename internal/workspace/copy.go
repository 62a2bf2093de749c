package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/pythonide/pythonide/internal/fault"
)

// Copy copies a file or a folder with its contents. It never overwrites
// (409); the parent of the target must exist; the copy counts against the
// target home's quota and is refused before anything is written if it would
// not fit. Links and special files inside a copied folder are left out.
func (w *Workspace) Copy(a Actor, from, to string) error {
	src, err := resolve(a, from, readAccess)
	if err != nil {
		return err
	}
	dst, err := resolve(a, to, writeAccess)
	if err != nil {
		return err
	}
	if err := checkTarget(a, src, dst); err != nil {
		return err
	}
	return w.copyItem(a, src, dst)
}

// copyItem copies src to dst (both already authorized) through a hidden temp
// beside the target that is renamed into place at the end, so a failed or
// interrupted copy leaves nothing half-made under the target's name.
func (w *Workspace) copyItem(a Actor, src, dst loc) error {
	sr, srcName, releaseSrc, err := w.container(src)
	if err != nil {
		return err
	}
	defer releaseSrc()
	fi, err := sr.Lstat(srcName)
	if err != nil {
		return mapErr(err, src.path)
	}
	var size int64
	switch {
	case fi.Mode().IsRegular():
		size = fi.Size()
		if dst.atScopeRoot() {
			return fault.New(ErrInvalid, "Files cannot be placed at the top level; put %q inside a folder.", dst.path)
		}
	case fi.IsDir():
		sub, err := openDirChecked(sr, srcName)
		if err != nil {
			return mapErr(err, src.path)
		}
		size, err = treeSize(sub, 0)
		sub.Close()
		if err != nil {
			return mapErr(err, src.path)
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		return fault.New(ErrInvalid, "%q is a link; links cannot be copied or moved to another folder.", src.path)
	default:
		return fault.New(ErrInvalid, "%q is not an ordinary file or folder.", src.path)
	}

	dr, dstName, releaseDst, err := w.container(dst)
	if err != nil {
		return err
	}
	defer releaseDst()
	dstDir := path.Dir(dstName)
	if err := mustBeDir(dr, dstDir, parentPath(dst.path)); err != nil {
		return err
	}
	if err := mustNotExist(dr, dstName, dst.path); err != nil {
		return err
	}
	if err := w.fits(a, dst, dr, size); err != nil {
		return err
	}

	tmp := joinRel(dstDir, tempName())
	defer dr.RemoveAll(tmp) // a no-op once renamed into place
	if err := copyNode(sr, srcName, fi, dr, tmp, w.ownerFor(dst), 0); err != nil {
		return mapErr(err, dst.path)
	}

	unlock := w.locks.lock(dst.scopeKey())
	defer unlock()
	if err := mustNotExist(dr, dstName, dst.path); err != nil {
		return err
	}
	if dst.kind == kindHome {
		if err := w.checkQuota(a, dst.owner, dr, size); err != nil {
			return err
		}
		defer w.forgetUsage(dst.owner)
	}
	if err := dr.Rename(tmp, dstName); err != nil {
		return mapErr(err, dst.path)
	}
	return mapErr(syncDir(dr, dstDir), dst.path)
}

// fits checks the quota before a copy starts, so a copy that cannot fit
// writes nothing at all.
func (w *Workspace) fits(a Actor, dst loc, dr *os.Root, size int64) error {
	if dst.kind != kindHome {
		return nil
	}
	unlock := w.locks.lock(dst.scopeKey())
	defer unlock()
	return w.checkQuota(a, dst.owner, dr, size)
}

// tooDeep stops walks through absurdly nested folders.
func tooDeep() error {
	return fault.New(ErrInvalid, "The folder is nested too deeply (more than %d levels) to be copied or downloaded.", maxDepth)
}

// copyNode copies the file or folder name in sr (whose Lstat is want) to
// dstName in dr, never following links: entries that are links, special
// files, or swapped for something else since they were listed are skipped.
func copyNode(sr *os.Root, name string, want fs.FileInfo, dr *os.Root, dstName string, own owner, depth int) error {
	if depth > maxDepth {
		return tooDeep()
	}
	if want.Mode().IsRegular() {
		return copyFile(sr, name, want, dr, dstName, own)
	}
	sub, err := openDirChecked(sr, name)
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := dr.Mkdir(dstName, dirPerm); err != nil {
		return err
	}
	if err := fixDir(dr, dstName, own); err != nil {
		return err
	}
	infos, err := readDirInfos(sub, ".")
	if err != nil {
		return err
	}
	for _, fi := range infos {
		if strings.HasPrefix(fi.Name(), tempPrefix) || !(fi.Mode().IsRegular() || fi.IsDir()) {
			continue
		}
		err := copyNode(sub, fi.Name(), fi, dr, dstName+"/"+fi.Name(), own, depth+1)
		if err != nil && !skippable(err) {
			return err
		}
	}
	return nil
}

// skippable: the entry vanished or was swapped since the listing.
func skippable(err error) bool {
	return isGone(err) || errors.Is(err, errNotRealDir) || errors.Is(err, errNotRegular) || errors.Is(err, syscall.EISDIR)
}

func copyFile(sr *os.Root, name string, want fs.FileInfo, dr *os.Root, dstName string, own owner) error {
	in, _, err := openRegular(sr, name, want)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dr.OpenFile(dstName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := copyData(out, in); err != nil {
		return err
	}
	if err := out.Chmod(filePerm); err != nil {
		return err
	}
	if own.on {
		if err := out.Chown(own.uid, own.gid); err != nil {
			return err
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return out.Close()
}
