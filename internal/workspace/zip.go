package workspace

import (
	"archive/zip"
	"io"
	"os"

	"github.com/pythonide/pythonide/internal/fault"
)

// Zip streams a folder to dst as a zip archive whose entries sit under the
// folder's own name (e.g. "hw1/main.py"). Links and special files are left
// out and never followed. An error after the first bytes leaves dst with a
// truncated archive; the caller can only abort the download then.
func (w *Workspace) Zip(a Actor, p string, dst io.Writer) error {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return err
	}
	r, name, release, err := w.container(l)
	if err != nil {
		return err
	}
	defer release()
	fi, err := r.Lstat(name)
	if err != nil {
		return mapErr(err, p)
	}
	if !fi.IsDir() {
		return fault.New(ErrInvalid, "%q is not a folder; download it as a file.", p)
	}
	sub, err := openDirChecked(r, name)
	if err != nil {
		return mapErr(err, p)
	}
	defer sub.Close()
	zw := zip.NewWriter(dst)
	if err := zipDir(zw, sub, l.base()+"/", 0); err != nil {
		return mapErr(err, p)
	}
	return mapErr(zw.Close(), p)
}

// zipDir adds everything in r under prefix (which ends in "/").
func zipDir(zw *zip.Writer, r *os.Root, prefix string, depth int) error {
	if depth > maxDepth {
		return tooDeep()
	}
	// The folder's own entry keeps empty folders in the archive.
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: prefix, Method: zip.Store}); err != nil {
		return err
	}
	infos, err := readDirInfos(r, ".")
	if err != nil {
		return err
	}
	for _, fi := range infos {
		// Temp files, and names the API itself refuses: a program can create
		// "..\..\x" or invalid UTF-8, which unzippers on Windows and
		// elsewhere would take for a path out of the target folder.
		if nameProblem(fi.Name()) != "" {
			continue
		}
		switch {
		case fi.IsDir():
			sub, err := openDirChecked(r, fi.Name())
			if err != nil {
				if skippable(err) {
					continue
				}
				return err
			}
			err = zipDir(zw, sub, prefix+fi.Name()+"/", depth+1)
			sub.Close()
			if err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := zipFile(zw, r, fi.Name(), prefix, fi); err != nil && !skippable(err) {
				return err
			}
		}
	}
	return nil
}

func zipFile(zw *zip.Writer, r *os.Root, name, prefix string, want os.FileInfo) error {
	f, fi, err := openRegular(r, name, want)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return err
	}
	h.Name, h.Method = prefix+name, zip.Deflate
	out, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = copyData(out, f)
	return err
}
