package assist

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

// view is what a completer sees for a request: one home, read-only, where
// a program of that home's owner sees it, the course folders, the driver;
// and where the requested file is in it.
type view struct {
	key     string // the lane: "home/<owner>"
	owner   string
	root    string // where the worker sees the home
	mounts  []sandbox.Mount
	courses string // the course folders' host paths, one a line, as mounted
	file    string // where the worker sees the requested file
}

// viewFor is the view of a's request on workspace path p: the home p is in
// (a teacher's request on Local/<student>/… sees that student's home, as
// the student's own program would), or for a course folder's file, a's own
// home beside it. a must be allowed to read p's folder; a file not saved
// yet is fine.
func (s *Service) viewFor(a workspace.Actor, p string) (view, error) {
	parts := strings.Split(p, "/")
	if p == "" || len(parts) < 2 || parts[0] == "Local" && len(parts) < 3 {
		return view{}, fault.New(ErrInvalid, "Completions are for a file in a home or a course folder, not %q.", p)
	}
	folder := strings.Join(parts[:len(parts)-1], "/")
	if _, err := workspace.JoinName(folder, parts[len(parts)-1]); err != nil {
		return view{}, err // the whole path, checked as every file route does
	}
	e, err := s.ws.Stat(a, folder)
	if err != nil {
		return view{}, err // the workspace's own refusal (not found, fenced, invalid)
	}
	if e.Type != "dir" {
		return view{}, fault.New(ErrInvalid, "%q is not in a folder.", p)
	}
	owner, course := a.Username, ""
	if parts[0] == "Local" {
		owner = parts[1]
	} else {
		course = parts[0]
		if err := s.ws.EnsureHome(owner); err != nil {
			return view{}, err
		}
	}
	home := s.ws.HomePath(owner)
	if home == "" {
		return view{}, fault.New(ErrInvalid, "There is no home folder for %q.", owner)
	}
	courses, err := s.ws.CourseFolders()
	if err != nil {
		return view{}, err
	}
	remap := s.sb.Remaps()
	at := func(host, neutral string) string {
		if remap {
			return neutral
		}
		return host
	}
	v := view{key: "home/" + owner, owner: owner, root: at(home, runner.HomeAt), courses: strings.Join(courses, "\n")}
	v.mounts = append(v.mounts,
		sandbox.Mount{Host: home, At: v.root},
		sandbox.Mount{Host: s.opts.DriverDir, At: at(s.opts.DriverDir, runner.DriverAt)})
	courseAt := map[string]string{}
	for _, c := range courses {
		name := filepath.Base(c)
		courseAt[name] = at(c, path.Join(runner.CourseAt, name))
		v.mounts = append(v.mounts, sandbox.Mount{Host: c, At: courseAt[name]})
	}
	if course == "" {
		v.file = path.Join(append([]string{v.root}, parts[2:]...)...)
	} else if base, ok := courseAt[course]; ok {
		v.file = path.Join(append([]string{base}, parts[1:]...)...)
	} else {
		return view{}, fault.New(ErrInvalid, "%q is not in a course folder.", p)
	}
	return v, nil
}

// checkerMounts is all a checker sees: the driver. It parses what it is
// sent and reads no file.
func (s *Service) checkerMounts() ([]sandbox.Mount, string) {
	at := s.opts.DriverDir
	if s.sb.Remaps() {
		at = runner.DriverAt
	}
	return []sandbox.Mount{{Host: s.opts.DriverDir, At: at}}, at
}

// sharedView is what a shared completer (and the probe) sees: the driver,
// as a checker does; no home, no course folder.
func (s *Service) sharedView() view {
	mounts, at := s.checkerMounts()
	return view{key: "shared", root: at, mounts: mounts}
}

// driverAt is where every worker finds the assistant's script.
func (s *Service) driverAt() string {
	_, at := s.checkerMounts()
	return path.Join(at, DriverFile)
}
