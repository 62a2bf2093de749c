package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Group is one process's cgroups: a v2 folder (for placement, cgroup.kill,
// CPU time, and the limits on pure v2) and v1 folders by controller.
type Group struct {
	fs     FS
	v2     string
	limits bool // the v2 folder holds the limits
	cpu    bool // and its CPU weight
	v1     map[string]string
}

// Limits are one process's: its memory (no swap beyond it) and its tasks.
type Limits struct {
	Memory   int64
	MaxProcs int
}

// Create makes the cgroup of one process and sets its limits. An existing
// folder of the same id is refused: it may hold someone's processes. A
// subtree that vanished is made again first. It returns nil, nil on a Tree
// without cgroups.
func (t *Tree) Create(id string, lim Limits) (*Group, error) {
	if !t.Enabled() {
		return nil, nil
	}
	g, err := t.create(id, lim)
	if errors.Is(err, os.ErrNotExist) {
		if rerr := t.Recreate(); rerr != nil {
			return nil, fmt.Errorf("%w (making the subtree again failed: %v)", err, rerr)
		}
		g, err = t.create(id, lim)
	}
	return g, err
}

func (t *Tree) create(id string, lim Limits) (*Group, error) {
	fsys := t.fs
	g := &Group{fs: fsys, v1: map[string]string{}, limits: t.v2Limits, cpu: t.v2CPU}
	fail := func(err error) (*Group, error) {
		g.Remove()
		return nil, err
	}
	write := func(dir, name, value string) error { return fsys.WriteFile(filepath.Join(dir, name), value) }
	if t.v2 != "" {
		dir := filepath.Join(t.v2, id)
		if err := fsys.Mkdir(dir); err != nil {
			return fail(err)
		}
		g.v2 = dir
		if t.v2Limits {
			mem := strconv.FormatInt(lim.Memory, 10)
			for _, kv := range [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"memory.oom.group", "1"}, {"pids.max", strconv.Itoa(lim.MaxProcs)}} {
				if err := write(dir, kv[0], kv[1]); err != nil && !(kv[0] == "memory.swap.max" && errors.Is(err, os.ErrNotExist)) {
					return fail(err)
				}
			}
			return g, nil
		}
	}
	made := map[string]bool{} // two controllers may share a hierarchy (cpu,cpuacct)
	for ctrl, parent := range t.v1 {
		dir := filepath.Join(parent, id)
		if !made[dir] {
			if err := fsys.Mkdir(dir); err != nil {
				return fail(err)
			}
			made[dir] = true
		}
		g.v1[ctrl] = dir
	}
	if d := g.v1["memory"]; d != "" {
		mem := strconv.FormatInt(lim.Memory, 10)
		if err := write(d, "memory.limit_in_bytes", mem); err != nil {
			return fail(err)
		}
		// memsw exists only with swap accounting; it must be set after the
		// plain limit (memsw >= mem) and keeps the process from swapping.
		if exists(fsys, filepath.Join(d, "memory.memsw.limit_in_bytes")) {
			if err := write(d, "memory.memsw.limit_in_bytes", mem); err != nil {
				return fail(err)
			}
		}
	}
	if d := g.v1["pids"]; d != "" {
		if err := write(d, "pids.max", strconv.Itoa(lim.MaxProcs)); err != nil {
			return fail(err)
		}
	}
	return g, nil
}

// SetCPUWeight sets the group's share of the students' CPU (v2's scale:
// DefaultWeight is 100); without a cpu controller it does nothing.
func (g *Group) SetCPUWeight(weight int) error {
	switch {
	case g.cpu:
		return setWeight(g.fs, g.v2, "", weight)
	case !g.limits && g.v1["cpu"] != "":
		return setWeight(g.fs, "", g.v1["cpu"], weight)
	}
	return nil
}

// JoinFiles are the v1 cgroup.procs files a process writes its own pid into
// to join the group (v1 has no placement at clone).
func (g *Group) JoinFiles() []string {
	var out []string
	for _, d := range g.v1 {
		out = append(out, g.fs.Path(filepath.Join(d, "cgroup.procs")))
	}
	slices.Sort(out)
	return out
}

// PlacementFD opens the v2 folder for SysProcAttr.UseCgroupFD (the child
// is born inside it, so nothing it forks can escape); -1 if there is none.
func (g *Group) PlacementFD() (int, error) {
	if g.v2 == "" {
		return -1, nil
	}
	return unix.Open(g.fs.Path(g.v2), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// KillAll kills every member at once through v2's cgroup.kill; an error
// means it is not available and the caller must signal the members.
func (g *Group) KillAll() error {
	if g.v2 == "" {
		return errors.New("cgroup: no v2 group")
	}
	return g.fs.WriteFile(filepath.Join(g.v2, "cgroup.kill"), "1")
}

// CanFreeze reports whether the group has a freezer (v2 cgroup.freeze or
// the v1 controller).
func (g *Group) CanFreeze() bool {
	return g.v2 != "" && exists(g.fs, filepath.Join(g.v2, "cgroup.freeze")) || g.v1["freezer"] != ""
}

// Freeze stops (on) or resumes (off) every member, and returns once that
// has taken effect: frozen tasks cannot fork, so a list of members read
// while frozen is complete.
func (g *Group) Freeze(on bool) error {
	switch {
	case g.v2 != "" && exists(g.fs, filepath.Join(g.v2, "cgroup.freeze")):
		want := map[bool]int64{true: 1, false: 0}[on]
		if err := g.fs.WriteFile(filepath.Join(g.v2, "cgroup.freeze"), strconv.FormatInt(want, 10)); err != nil {
			return err
		}
		if !WaitUntil(func() bool { return fieldValue(g.fs, filepath.Join(g.v2, "cgroup.events"), "frozen") == want }) {
			return errors.New("cgroup: freezer did not settle")
		}
		return nil
	case g.v1["freezer"] != "":
		d := g.v1["freezer"]
		want := map[bool]string{true: "FROZEN", false: "THAWED"}[on]
		if err := g.fs.WriteFile(filepath.Join(d, "freezer.state"), want); err != nil {
			return err
		}
		if !WaitUntil(func() bool { return strings.TrimSpace(readString(g.fs, filepath.Join(d, "freezer.state"))) == want }) {
			return errors.New("cgroup: freezer did not settle")
		}
		return nil
	}
	return errors.New("cgroup: no freezer")
}

// Members lists every pid in any of the group's cgroups, once.
func (g *Group) Members() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range g.dirs() {
		for _, f := range strings.Fields(readString(g.fs, filepath.Join(d, "cgroup.procs"))) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// Empty reports whether no process is left in any of the group's cgroups.
func (g *Group) Empty() bool { return len(g.Members()) == 0 }

// OOMKilled reports whether the kernel's OOM killer acted in the group.
func (g *Group) OOMKilled() bool {
	if g.limits {
		return fieldValue(g.fs, filepath.Join(g.v2, "memory.events"), "oom_kill") > 0
	}
	if d := g.v1["memory"]; d != "" {
		return fieldValue(g.fs, filepath.Join(d, "memory.oom_control"), "oom_kill") > 0
	}
	return false
}

// Usage returns charged memory and CPU seconds; ok is false if either is
// not in the group's files.
func (g *Group) Usage() (mem int64, cpu float64, ok bool) {
	memOK, cpuOK := false, false
	if g.limits {
		if v, err := parseInt(readString(g.fs, filepath.Join(g.v2, "memory.current"))); err == nil {
			mem, memOK = v, true
		}
	} else if d := g.v1["memory"]; d != "" {
		if v, err := parseInt(readString(g.fs, filepath.Join(d, "memory.usage_in_bytes"))); err == nil {
			mem, memOK = v, true
		}
	}
	// v2 cpu.stat exists in every cgroup, controllers or not.
	if g.v2 != "" {
		if v := fieldValue(g.fs, filepath.Join(g.v2, "cpu.stat"), "usage_usec"); v >= 0 {
			cpu, cpuOK = float64(v)/1e6, true
		}
	} else if d := g.v1["cpuacct"]; d != "" {
		if v, err := parseInt(readString(g.fs, filepath.Join(d, "cpuacct.usage"))); err == nil {
			cpu, cpuOK = float64(v)/1e9, true
		}
	}
	return mem, cpu, memOK && cpuOK
}

// Remove waits for the group to empty (the caller has killed its members)
// and removes its folders.
func (g *Group) Remove() error {
	if !WaitUntil(g.Empty) {
		return errors.New("cgroup: group did not empty")
	}
	var errs []error
	for _, d := range g.dirs() {
		if err := rmdirRetry(g.fs, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dirs are the group's folders (for tests and messages).
func (g *Group) Dirs() []string { return g.dirs() }

func (g *Group) dirs() []string { return folders(g.v2, g.v1) }

// rmdirRetry retries while the kernel finishes tearing down killed tasks.
func rmdirRetry(fsys FS, dir string) error {
	var err error
	WaitUntil(func() bool {
		err = fsys.Rmdir(dir)
		return err == nil || errors.Is(err, os.ErrNotExist)
	})
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// WaitUntil polls cond for up to 5 s: cgroup state changes are asynchronous
// but take around a millisecond.
func WaitUntil(cond func() bool) bool {
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
		delay = min(delay*2, 50*time.Millisecond)
	}
	return true
}

// WaitRmdir removes an empty cgroup folder of the machine, retrying while
// the kernel finishes tearing down its last tasks.
func WaitRmdir(dir string) error { return rmdirRetry(Root("/"), dir) }

// JoinSelf moves the calling process into the v1 cgroups whose
// cgroup.procs files are given (Group.JoinFiles): the sandbox helper's first
// step in its child, before it execs anything.
func JoinSelf(files []string) error {
	self := strconv.Itoa(os.Getpid())
	for _, f := range files {
		if err := os.WriteFile(f, []byte(self), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}
