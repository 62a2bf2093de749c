package workspace

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// errTooBig is returned by stageFile when the reader has more than the limit.
var errTooBig = errors.New("content over the size limit")

// staged is a file written in full to a hidden temp name beside its target,
// fsynced and closed, waiting to be renamed into place.
type staged struct {
	root  *os.Root
	dir   string // folder of the temp (relative to root)
	name  string // temp path relative to root
	size  int64
	sum   [sha256.Size]byte
	mtime time.Time
	done  bool
}

// tempName is a fresh hidden name; the random part makes O_EXCL collisions
// practically impossible, even with leftovers from a crash.
func tempName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents so)
	return tempPrefix + hex.EncodeToString(b[:])
}

func joinRel(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

// stageFile copies at most limit bytes of r into a new temp file in dir.
// More than limit bytes is errTooBig. On any error nothing is left behind.
func stageFile(root *os.Root, dir string, r io.Reader, limit int64, own owner) (*staged, error) {
	st := &staged{root: root, dir: dir, name: joinRel(dir, tempName())}
	f, err := root.OpenFile(st.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			root.Remove(st.name)
		}
	}()
	h := sha256.New()
	src := &errReader{r: io.LimitReader(r, limit+1)}
	n, err := copyData(io.MultiWriter(f, h), src)
	if src.err != nil {
		return nil, fault.Wrap(src.err, ErrInvalid, "The file did not arrive completely, so nothing was saved. Please try again.")
	}
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooBig
	}
	// The umask may have narrowed the mode; sandboxed programs under another
	// uid rely on the exact bits.
	if err := f.Chmod(filePerm); err != nil {
		return nil, err
	}
	if own.on {
		if err := f.Chown(own.uid, own.gid); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	ok = true
	st.size, st.mtime = n, fi.ModTime()
	h.Sum(st.sum[:0])
	return st, nil
}

// errReader remembers a read error, to tell a broken upload from a failing disk.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// etag is the strong, content-based ETag of the staged content.
func (st *staged) etag() string { return etagOf(st.sum[:]) }

// etagOf quotes the first 16 bytes of a SHA-256 sum, in hex.
func etagOf(sum []byte) string { return `"` + hex.EncodeToString(sum[:16]) + `"` }

// commit renames the temp over target (relative to the same root) and makes
// the rename durable. rename(2) replaces a link itself, never its target.
func (st *staged) commit(target string) error {
	if err := st.root.Rename(st.name, target); err != nil {
		return err
	}
	st.done = true
	return syncDir(st.root, path.Dir(target))
}

// discard removes the temp unless it was committed; safe to call always.
func (st *staged) discard() {
	if !st.done {
		st.root.Remove(st.name)
		st.done = true
	}
}

// syncDir fsyncs a folder so a rename in it survives a crash. Filesystems
// that cannot fsync a folder (EINVAL) already order renames themselves.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
