package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// maxDepth bounds every walk: it keeps a folder nested absurdly deep by a
// student's program from exhausting file descriptors or the stack.
const maxDepth = 128

// usageEntry is a home's size as last measured, kept exact by our own writes.
type usageEntry struct {
	bytes int64
	at    time.Time
}

// Usage measures the bytes used by a home: the sizes of its regular files.
// Links, special files and hidden temps are not counted; links are never
// followed.
func (w *Workspace) Usage(username string) (int64, error) {
	u, err := w.Measure(username)
	return u.Bytes, err
}

// HomeUsage is what a home holds.
type HomeUsage struct {
	Bytes   int64 // sizes of its regular files
	Entries int   // files, folders, links and anything else in it (inodes, roughly)
}

// Measure walks a home now (the runner's quota watch, while its owner's
// programs run) and refreshes the figure saves check against.
func (w *Workspace) Measure(username string) (HomeUsage, error) {
	l, err := classify(localDir + "/" + username)
	if err != nil || l.kind != kindHome {
		return HomeUsage{}, fault.New(ErrInvalid, "The username %q is not valid.", username)
	}
	root, err := w.openScope(l)
	if err != nil {
		return HomeUsage{}, err
	}
	defer root.Close()
	u, err := treeUsage(root, 0)
	if err != nil {
		return HomeUsage{}, mapErr(err, l.path)
	}
	w.usageMu.Lock()
	w.usage[username] = usageEntry{bytes: u.Bytes, at: time.Now()}
	w.usageMu.Unlock()
	return u, nil
}

// OverQuota says in plain words how a home holding u is over its quota
// (bytes, or files and folders), or "" when it is within it.
func (w *Workspace) OverQuota(u HomeUsage) string {
	if u.Bytes > w.opts.QuotaBytes {
		return fmt.Sprintf("your folder now holds %s, over its storage limit of %s.", mb(u.Bytes), mb(w.opts.QuotaBytes))
	}
	if q := w.opts.QuotaFiles; q > 0 && u.Entries > q {
		return fmt.Sprintf("your folder now holds %d files and folders, over its limit of %d.", u.Entries, q)
	}
	return ""
}

// homeUsage is a home's usage for a quota check: the cached figure while it
// is fresh, else measured. Call with the home's lock held.
func (w *Workspace) homeUsage(username string, home *os.Root) (int64, error) {
	w.usageMu.Lock()
	e, ok := w.usage[username]
	w.usageMu.Unlock()
	if ok && w.opts.UsageTTL > 0 && time.Since(e.at) < w.opts.UsageTTL {
		return e.bytes, nil
	}
	n, err := treeSize(home, 0)
	if err != nil {
		return 0, err
	}
	w.usageMu.Lock()
	w.usage[username] = usageEntry{bytes: n, at: time.Now()}
	w.usageMu.Unlock()
	return n, nil
}

// adjustUsage applies our own change to the cached figure.
func (w *Workspace) adjustUsage(username string, delta int64) {
	w.usageMu.Lock()
	if e, ok := w.usage[username]; ok {
		e.bytes += delta
		w.usage[username] = e
	}
	w.usageMu.Unlock()
}

// forgetUsage drops the cached figure after a change too big to track.
func (w *Workspace) forgetUsage(username string) {
	w.usageMu.Lock()
	delete(w.usage, username)
	w.usageMu.Unlock()
}

// checkQuota refuses growing home by grow bytes past the quota. Call with
// the home's lock held.
func (w *Workspace) checkQuota(a Actor, username string, home *os.Root, grow int64) error {
	if grow <= 0 {
		return nil
	}
	used, err := w.homeUsage(username, home)
	if err != nil {
		return mapErr(err, localDir+"/"+username)
	}
	if used+grow <= w.opts.QuotaBytes {
		return nil
	}
	whose := "your folder"
	if a.Username != username {
		whose = fmt.Sprintf("the folder of %s", username)
	}
	return fault.New(ErrQuota,
		"This would go over the %s storage limit of %s (%s used now). Delete some files and try again.",
		mb(w.opts.QuotaBytes), whose, mb(used))
}

// mb writes a byte count in megabytes for people.
func mb(n int64) string {
	v := float64(n) / (1 << 20)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d MB", int64(v))
	}
	return fmt.Sprintf("%.1f MB", v)
}

// treeSize sums the regular files under r, never following links. A folder
// swapped for a link mid-walk is skipped, not followed.
func treeSize(r *os.Root, depth int) (int64, error) {
	u, err := treeUsage(r, depth)
	return u.Bytes, err
}

// treeUsage sums the regular files under r and counts every entry, never
// following links. A folder swapped for a link mid-walk is skipped, not
// followed.
func treeUsage(r *os.Root, depth int) (HomeUsage, error) {
	var u HomeUsage
	if depth > maxDepth {
		return u, nil
	}
	infos, err := readDirInfos(r, ".")
	if err != nil {
		return u, err
	}
	for _, fi := range infos {
		if strings.HasPrefix(fi.Name(), tempPrefix) {
			continue
		}
		u.Entries++
		switch {
		case fi.Mode().IsRegular():
			u.Bytes += fi.Size()
		case fi.IsDir():
			sub, err := openDirChecked(r, fi.Name())
			if err != nil {
				continue // vanished or swapped for a link since the listing
			}
			n, err := treeUsage(sub, depth+1)
			sub.Close()
			if err != nil && !isGone(err) {
				return HomeUsage{}, err
			}
			u.Bytes += n.Bytes
			u.Entries += n.Entries
		}
	}
	return u, nil
}

// isGone reports errors meaning "it was there a moment ago".
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
