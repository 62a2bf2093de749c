package runner

import (
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/sandbox"
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
}

// layout builds what a program of owner's sees: the home, the driver, every
// course folder and, for a teacher running a student's file, that student's
// home. Without a mount namespace every folder keeps its host path.
func (r *Runner) layout(owner, student string) (layout, error) {
	home := r.ws.HomePath(owner)
	if home == "" {
		return layout{}, errors.New("no home folder for " + owner)
	}
	if err := r.ws.EnsureHome(owner); err != nil {
		return layout{}, err
	}
	return r.layoutAt(home, "Local/"+owner, student)
}

// layoutAt is layout for the home folder at host path home, shown to the
// browser as workspace path wsHome.
func (r *Runner) layoutAt(home, wsHome, student string) (layout, error) {
	courses, err := r.ws.CourseFolders()
	if err != nil {
		return layout{}, err
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

func (l layout) equal(o layout) bool { return slices.Equal(l.mounts, o.mounts) }
