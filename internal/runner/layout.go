package runner

import (
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Where a program sees the workspace when the sandbox has a mount namespace
// (docs/security.md, "What a program sees"). The paths are the same for
// every student, so a program's output and tracebacks name nothing of the
// host or of anyone else.
const (
	HomeAt     = "/home/student"  // the owner's home, read-write
	CourseAt   = "/course"        // each course folder at /course/<name>, read-only
	StudentsAt = "/students"      // a student's home, read-only, when a teacher runs one of their files
	DriverAt   = "/opt/pythonide" // the driver
)

// layout is what one program sees: its mounts, each with the workspace path
// it shows (for the browser, which turns a traceback's paths into links).
type layout struct {
	home   string             // host path of the owner's home
	mounts []sandbox.Mount    // the home first
	paths  []protocol.PathMap // At → workspace path, for every mount but the driver's
	// limits names the owner's workspace.Limits the layout was made for
	// ("" for none): Refit stops what was made for others.
	limits  string
	noLinks bool // the program may make no symbolic link (sandbox.Spec.NoLinks)
}

// layout builds what a program of u's sees: the home, the driver, every
// course folder and, for a teacher running a student's file, that student's
// home. Without a mount namespace every folder keeps its host path.
//
// With a fence (an exam) the fence folder is the home instead — nothing else
// of the home is mounted, so a program finds nothing of it, not even by
// its host path — the course folders only if the fence keeps them open, and
// no symbolic link may be made. Read-only folders (an exam that is over)
// are mounted read-only over their place in the home, where the sandbox can
// remap (under Landlock alone they stay writable to programs).
func (r *Runner) layout(u User, student string) (layout, error) {
	owner := u.Name
	home := r.ws.HomePath(owner)
	if home == "" {
		return layout{}, errors.New("no home folder for " + owner)
	}
	if err := r.ws.EnsureHome(owner); err != nil {
		return layout{}, err
	}
	lim := u.Limits
	if lim != nil && lim.Fence != "" {
		folder, err := r.ws.RealFolder(u.actor(), lim.Fence)
		if err != nil {
			return layout{}, err
		}
		l, err := r.layoutWith(folder, lim.Fence, "", lim.Courses)
		l.limits, l.noLinks = limitsKey(lim), true
		return l, err
	}
	l, err := r.layoutAt(home, "Local/"+owner, student)
	if err != nil || lim == nil {
		return l, err
	}
	l.limits = limitsKey(lim)
	if !r.sb.Remaps() {
		return l, nil
	}
	for _, ro := range lim.ReadOnly {
		rel, ok := strings.CutPrefix(ro.Folder, "Local/"+owner+"/")
		if !ok {
			continue
		}
		host, err := r.ws.RealFolder(u.actor(), ro.Folder)
		if err != nil {
			continue // gone, or no longer a folder: nothing to keep read-only
		}
		l.mounts = append(l.mounts, sandbox.Mount{Host: host, At: path.Join(HomeAt, rel)})
	}
	return l, nil
}

// limitsKey names what lim lets a program see.
func limitsKey(lim *workspace.Limits) string {
	if lim == nil {
		return ""
	}
	k := "fence=" + lim.Fence
	if lim.Courses {
		k += "+courses"
	}
	for _, ro := range lim.ReadOnly {
		k += " ro=" + ro.Folder
	}
	return k
}

// layoutAt is layout for the home folder at host path home, shown to the
// browser as workspace path wsHome.
func (r *Runner) layoutAt(home, wsHome, student string) (layout, error) {
	return r.layoutWith(home, wsHome, student, true)
}

// layoutWith is layoutAt, with the course folders or without.
func (r *Runner) layoutWith(home, wsHome, student string, withCourses bool) (layout, error) {
	var courses []string
	if withCourses {
		var err error
		if courses, err = r.ws.CourseFolders(); err != nil {
			return layout{}, err
		}
	}
	l := layout{home: home}
	remap := r.sb.Remaps()
	add := func(host, at, wsPath string, write bool) {
		if !remap {
			at = host
		}
		l.mounts = append(l.mounts, sandbox.Mount{Host: host, At: at, Write: write})
		if wsPath != "" {
			l.paths = append(l.paths, protocol.PathMap{At: at, Path: wsPath})
		}
	}
	add(home, HomeAt, wsHome, true)
	add(r.opts.DriverDir, DriverAt, "", false)
	for _, c := range courses {
		name := filepath.Base(c)
		add(c, path.Join(CourseAt, name), name, false)
	}
	if student != "" && "Local/"+student != wsHome {
		if h := r.ws.HomePath(student); h != "" {
			add(h, path.Join(StudentsAt, student), "Local/"+student, false)
		}
	}
	return l, nil
}

// inside is where the program sees a host path under one of the mounts
// ("" when it sees it nowhere).
func (l layout) inside(host string) string {
	best := -1
	for i, m := range l.mounts {
		if (host == m.Host || strings.HasPrefix(host, m.Host+"/")) && (best < 0 || len(m.Host) > len(l.mounts[best].Host)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	m := l.mounts[best]
	return m.At + strings.TrimPrefix(host, m.Host)
}

func (l layout) equal(o layout) bool {
	return slices.Equal(l.mounts, o.mounts) && l.limits == o.limits && l.noLinks == o.noLinks
}
