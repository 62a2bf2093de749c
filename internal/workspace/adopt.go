package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// AdoptHomes gives every home, and everything in it, to Options.HomeUID and
// HomeGID, so students' programs (which run as that uid) can write the files
// the server or an older system created. Links are changed themselves, never
// followed. Folders whose workspace path sealed reports (Seal's: an ended
// exam's) are left as they are. It does nothing when no owner is configured.
func (w *Workspace) AdoptHomes(sealed func(path string) bool) (changed int, err error) {
	own := w.homeOwner()
	if !own.on {
		return 0, nil
	}
	homes, err := w.Homes()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, h := range homes {
		dir := filepath.Join(w.path, localDir, h)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // vanished meanwhile: nothing to adopt
			}
			if d.IsDir() && sealed != nil {
				if rel, err := filepath.Rel(w.path, p); err == nil && sealed(filepath.ToSlash(rel)) {
					return fs.SkipDir
				}
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if ok && (own.uid < 0 || int(st.Uid) == own.uid) && (own.gid < 0 || int(st.Gid) == own.gid) {
				return nil
			}
			if err := os.Lchown(p, own.uid, own.gid); err != nil {
				return err
			}
			changed++
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return changed, errors.Join(errs...)
}
