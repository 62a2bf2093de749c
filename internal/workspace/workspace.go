// Package workspace keeps the students' files and the course material under
// <data>/ide/: homes at Local/<username>/, every other top-level folder is a
// course folder. It owns every rule about files — path validation,
// permissions, confinement, atomic writes, ETags, quota and zip — so the HTTP
// layer above it only parses requests and maps errors.
//
// Confinement: every operation is carried out through an os.Root scoped to
// the narrowest folder that holds it (one home, or one course folder), so a
// symlink planted by a student's program can never lead outside that folder,
// not even into another home. Walks (usage, copy, zip) never follow symlinks
// at all.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

// Options are the limits and ownership rules. Zero values take the defaults.
type Options struct {
	MaxFileBytes int64 // largest single file written or uploaded; default 10 MiB
	QuotaBytes   int64 // per home; default 100 MiB
	QuotaFiles   int   // files and folders per home, enforced on running programs (OverQuota); 0: no limit

	// HomeUID and HomeGID, when positive, own homes and everything written
	// into them, so sandboxed programs running under that uid can write
	// their home. 0 or -1 leaves ownership alone (the server's own user).
	HomeUID, HomeGID int

	// UsageTTL is how long a home's measured size is trusted before it is
	// measured again; writes through this package keep it exact meanwhile,
	// only changes made by the student's programs are noticed late.
	// Default 30 s; negative measures on every write.
	UsageTTL time.Duration

	// StaleTempAge is the age after which a leftover hidden temp file (from a
	// crash mid-write) is removed when its folder is listed. Default 1 h.
	StaleTempAge time.Duration

	// SharedLock, when set, runs fn holding a lock named key that every
	// instance sharing the data volume takes in turn (the database's): a
	// conditional save's check and rename then hold across instances.
	SharedLock func(key string, fn func() error) error

	// HistoryDir, when set, is the host folder, outside every home and the
	// workspace, where a save keeps the content it replaces in a home
	// (history.go). "" keeps no history: History answers that it is off.
	HistoryDir string
	// HistoryBytes bounds one user's history area; over it the oldest
	// versions go first, but never a file's newest 5. Default QuotaBytes.
	HistoryBytes int64

	// TrashDir, when set, is the host folder, outside every home and the
	// workspace, that Delete moves a home's files and folders into
	// (trash.go). "": deletes are final.
	TrashDir string
	// TrashBytes bounds one user's trash; over it the oldest items are
	// purged, never the newest. Default QuotaBytes.
	TrashBytes int64

	// Now is the clock of history and trash (when a version was kept, an
	// item deleted, and their ages). Default time.Now.
	Now func() time.Time
	// Log hears what goes wrong keeping a version or purging the trash,
	// which never fails the save or delete itself (a delete that cannot
	// move into the trash fails: nothing is lost). Default slog.Default().
	Log *slog.Logger
}

const (
	defaultMaxFileBytes = 10 << 20
	defaultQuotaBytes   = 100 << 20
	defaultUsageTTL     = 30 * time.Second
	defaultStaleTempAge = time.Hour
	dirPerm             = 0o755
	filePerm            = 0o644
)

func (o Options) withDefaults() Options {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = defaultMaxFileBytes
	}
	if o.QuotaBytes <= 0 {
		o.QuotaBytes = defaultQuotaBytes
	}
	if o.UsageTTL == 0 {
		o.UsageTTL = defaultUsageTTL
	}
	if o.StaleTempAge <= 0 {
		o.StaleTempAge = defaultStaleTempAge
	}
	if o.HistoryBytes <= 0 {
		o.HistoryBytes = o.QuotaBytes
	}
	if o.TrashBytes <= 0 {
		o.TrashBytes = o.QuotaBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Workspace is the file store. It is safe for concurrent use. Its locks are
// in-process: two server instances sharing one volume could both win a
// conditional save of the same file.
type Workspace struct {
	opts  Options
	path  string   // absolute host path of <data>/ide
	data  *os.Root // <data>/ide
	local *os.Root // <data>/ide/Local

	locks keyedLocks

	usageMu sync.Mutex
	usage   map[string]usageEntry // by username

	hist  *os.Root // Options.HistoryDir; nil: no history
	trash *os.Root // Options.TrashDir; nil: deletes are final

	histMu    sync.Mutex
	histUsage map[string]usageEntry // bytes of each user's history, as last measured
}

// Open opens (creating if needed, 0755) the workspace root and its Local
// folder. An existing volume is used in place.
func Open(root string, opts Options) (*Workspace, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, localDir), dirPerm); err != nil {
		return nil, fmt.Errorf("workspace: create %s: %w", abs, err)
	}
	data, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("workspace: open %s: %w", abs, err)
	}
	local, err := openDirChecked(data, localDir)
	if err != nil {
		data.Close()
		return nil, fmt.Errorf("workspace: open %s/%s (must be a real folder, not a link): %w", abs, localDir, err)
	}
	w := &Workspace{
		opts:      opts.withDefaults(),
		path:      abs,
		data:      data,
		local:     local,
		usage:     map[string]usageEntry{},
		histUsage: map[string]usageEntry{},
	}
	if err := areasOutside(abs, opts.HistoryDir, opts.TrashDir); err != nil {
		w.Close()
		return nil, err
	}
	if w.hist, err = openArea(opts.HistoryDir); err != nil {
		w.Close()
		return nil, fmt.Errorf("workspace: history folder: %w", err)
	}
	if w.trash, err = openArea(opts.TrashDir); err != nil {
		w.Close()
		return nil, fmt.Errorf("workspace: trash folder: %w", err)
	}
	return w, nil
}

// areasOutside refuses a history or trash folder inside the workspace
// (programs and listings would see it), and the two being one folder.
func areasOutside(ws string, dirs ...string) error {
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
		if within(ws, abs) {
			return fmt.Errorf("workspace: %s is inside the workspace %s; history and trash must be outside it", abs, ws)
		}
		if within(abs, ws) {
			return fmt.Errorf("workspace: the workspace %s is inside %s; history and trash must be beside it", ws, abs)
		}
		if seen[abs] {
			return fmt.Errorf("workspace: history and trash cannot share the folder %s", abs)
		}
		seen[abs] = true
	}
	return nil
}

// within reports whether the host path child is parent or inside it.
func within(parent, child string) bool {
	rel, err := filepath.Rel(parent, child)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// openArea creates (0700: only the server) and opens a server-only folder
// outside the workspace; "" is none.
func openArea(dir string) (*os.Root, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenRoot(dir)
}

// Close releases the open folders.
func (w *Workspace) Close() error {
	errs := []error{w.local.Close(), w.data.Close()}
	if w.hist != nil {
		errs = append(errs, w.hist.Close())
	}
	if w.trash != nil {
		errs = append(errs, w.trash.Close())
	}
	return errors.Join(errs...)
}

// HomePath is the absolute host path of a user's home (for the sandbox). It
// is "" for a username that cannot be a folder name.
func (w *Workspace) HomePath(username string) string {
	if !validName(username) {
		return ""
	}
	return filepath.Join(w.path, localDir, username)
}

// CourseFolders lists the absolute host paths of the top-level folders other
// than Local, sorted. Links and plain files at the top level are not course
// folders.
func (w *Workspace) CourseFolders() ([]string, error) {
	names, err := topFolders(w.data)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != localDir {
			out = append(out, filepath.Join(w.path, n))
		}
	}
	return out, nil
}

// Homes lists the usernames that have a home, sorted (for distributing to
// "all").
func (w *Workspace) Homes() ([]string, error) {
	return topFolders(w.local)
}

// topFolders lists the real folders (not links) directly inside r, sorted,
// without hidden temps.
func topFolders(r *os.Root) ([]string, error) {
	infos, err := readDirInfos(r, ".")
	if err != nil {
		return nil, fault.Wrap(err, ErrFailed, "Something went wrong on the server. Please try again.")
	}
	var out []string
	for _, fi := range infos {
		if fi.IsDir() && !strings.HasPrefix(fi.Name(), tempPrefix) {
			out = append(out, fi.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// welcomePy greets a student in a new, empty home.
const welcomePy = `# Welcome! This is your own folder: only you (and your teacher) can see it.
# Press Run to try this program, then change it and run it again.

name = input("What is your name? ")
print("Hello, " + name + "! Happy coding.")
`

// EnsureHome creates Local/<username>/ with a short welcome.py, only if the
// home does not exist yet. An existing home is left exactly as it is.
func (w *Workspace) EnsureHome(username string) error {
	if !validName(username) {
		return fault.New(ErrInvalid, "The username %q cannot be used as a folder name.", username)
	}
	err := w.local.Mkdir(username, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		fi, err := w.local.Lstat(username)
		if err != nil {
			return mapErr(err, localDir+"/"+username)
		}
		if !fi.IsDir() {
			return fault.New(ErrExists, "Local/%s exists but is not a folder; ask the administrator to fix it.", username)
		}
		// A student's program may chmod its own home (it owns it): without
		// rwx for the owner no later run could even start in it, so the
		// mode is put back before every run.
		if fi.Mode().Perm()&0o700 != 0o700 {
			return mapErr(w.local.Chmod(username, dirPerm), localDir+"/"+username)
		}
		return nil
	}
	if err != nil {
		return mapErr(err, localDir+"/"+username)
	}
	own := w.homeOwner()
	if own.on {
		if err := w.local.Lchown(username, own.uid, own.gid); err != nil {
			return mapErr(err, localDir+"/"+username)
		}
	}
	home, err := openDirChecked(w.local, username)
	if err != nil {
		return mapErr(err, localDir+"/"+username)
	}
	defer home.Close()
	st, err := stageFile(home, ".", strings.NewReader(welcomePy), int64(len(welcomePy)), own)
	if err != nil {
		return err
	}
	defer st.discard()
	return mapErr(st.commit("welcome.py"), localDir+"/"+username+"/welcome.py")
}

// owner is who files and folders written into a home should belong to.
type owner struct {
	uid, gid int
	on       bool
}

func (w *Workspace) homeOwner() owner {
	uid, gid := w.opts.HomeUID, w.opts.HomeGID
	if uid <= 0 && gid <= 0 {
		return owner{}
	}
	if uid <= 0 {
		uid = -1
	}
	if gid <= 0 {
		gid = -1
	}
	return owner{uid: uid, gid: gid, on: true}
}

// ownerFor is the owner for things written at l.
func (w *Workspace) ownerFor(l loc) owner {
	if l.kind == kindHome {
		return w.homeOwner()
	}
	return owner{}
}
