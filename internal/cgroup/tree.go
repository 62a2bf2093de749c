package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Controllers is what a Tree needs of v1 when v2 has no controllers:
// memory and pids limits, the freezer to kill a tree whole, cpuacct for CPU
// time, cpu for the students' share of it.
var Controllers = []string{"memory", "pids", "freezer", "cpuacct", "cpu"}

// CPU weights, on v2's scale (cpu.weight: 1–10000, 100 by default; v1's
// cpu.shares are 1024/100 of it).
const (
	// StudentsWeight is the weight of every student program together (the
	// shared <name> folder) beside the server's 100: when the server wants
	// the CPU it gets ten elevenths of it, whatever the students run.
	StudentsWeight = 10
	// DefaultWeight is a program's weight until told otherwise.
	DefaultWeight = 100
)

// Tree is one server's subtree: <the server's cgroup>/<name>/<instance>/,
// with a Group per process below it. The <name> folder is shared by every
// server started in the same cgroup with the same name (two on one host);
// each works only in its own <instance> folder, so a shutdown removes only
// its own and start-up reaping can tell a dead server's leftovers from a
// live neighbour's.
type Tree struct {
	fs       FS
	place    Place
	name     string
	instance string
	total    int64 // memory limit of the instance subtree

	v2       string            // our instance subtree in v2 ("" if none): cgroup.kill, placement, cpu.stat
	v2Limits bool              // v2 has memory and pids enabled below v2
	v2CPU    bool              // v2 has cpu enabled below v2 as well
	v1       map[string]string // controller -> our instance subtree in v1 (used when !v2Limits)
	cpuMax   float64           // cores every student program together may use (0: no cap)

	mu        sync.Mutex // serialises Recreate; guards the two below
	recreated int        // times the subtree vanished and was made again
	lost      string     // why it could not be made again; "" while it works
}

// None is a Tree without cgroups (not root, or no writable cgroup file
// system): its groups are nil.
func None() *Tree { return &Tree{v1: map[string]string{}} }

// NewTree creates the subtree below the cgroups of place and limits its
// memory to totalMemory. It keeps whatever parts work (a host may offer v2
// cgroup.kill without any controllers) and says what did not.
func NewTree(fsys FS, place Place, name, instance string, totalMemory int64) (*Tree, []error) {
	t := &Tree{fs: fsys, place: place, name: name, instance: instance, total: totalMemory, v1: map[string]string{}}
	var errs []error
	if place.V2 != "" {
		dir := filepath.Join(place.V2, name, instance)
		if err := t.mkdirs(dir); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v2: %w", err))
		} else if !exists(fsys, filepath.Join(dir, "cgroup.kill")) {
			errs = append(errs, errors.New("cgroup v2: no cgroup.kill (kernel < 5.14)"))
			fsys.Rmdir(dir)
			fsys.Rmdir(filepath.Dir(dir))
		} else {
			t.v2 = dir
			if err := t.enableV2(); err != nil {
				errs = append(errs, fmt.Errorf("cgroup v2 controllers: %w", err))
			} else {
				t.v2Limits = true
			}
		}
	}
	if t.v2Limits {
		return t, errs
	}
	for _, ctrl := range Controllers {
		own := place.V1[ctrl]
		if own == "" {
			continue
		}
		dir := filepath.Join(own, name, instance)
		if err := t.mkdirs(dir); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 %s: %w", ctrl, err))
			continue
		}
		t.v1[ctrl] = dir
	}
	if d := t.v1["memory"]; d != "" {
		if err := fsys.WriteFile(filepath.Join(d, "memory.limit_in_bytes"), strconv.FormatInt(totalMemory, 10)); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 memory: %w", err))
			delete(t.v1, "memory")
		}
	}
	return t, errs
}

// Mode names the layer: "v2", "hybrid" (v1 limits, v2 placement and kill),
// "v1" or "none".
func (t *Tree) Mode() string {
	switch {
	case t.v2Limits:
		return "v2"
	case t.v1["memory"] != "" && t.v1["pids"] != "" && t.v2 != "":
		return "hybrid"
	case t.v1["memory"] != "" && t.v1["pids"] != "":
		return "v1"
	}
	return "none"
}

// LimitsMemory reports whether a group's memory limit is the kernel's.
func (t *Tree) LimitsMemory() bool { return t.v2Limits || t.v1["memory"] != "" }

// Enabled reports whether groups are made at all (a v2 tree without
// controllers still places and kills).
func (t *Tree) Enabled() bool { return t.Mode() != "none" || t.v2 != "" }

// Instance is this server's folder name below the shared one.
func (t *Tree) Instance() string { return t.instance }

// mkdirs makes dir and its parent (the shared <name> folder) if missing.
func (t *Tree) mkdirs(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := t.fs.Mkdir(d); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// enableV2 turns on memory and pids down to our instance and limits the
// instance's memory. On a delegated v2 cgroup that holds the server
// itself, the server first moves into a leaf ("<name>-server"), because v2
// forbids controllers in a cgroup that has processes (except at the root).
func (t *Tree) enableV2() error {
	fsys, own := t.fs, t.place.V2
	avail := strings.Fields(readString(fsys, filepath.Join(own, "cgroup.controllers")))
	if !slices.Contains(avail, "memory") || !slices.Contains(avail, "pids") {
		return errors.New("memory and pids controllers are not delegated to the server's cgroup")
	}
	ctrls := "+memory +pids"
	if slices.Contains(avail, "cpu") {
		ctrls += " +cpu"
	}
	base := filepath.Dir(t.v2)
	if err := fsys.WriteFile(filepath.Join(own, "cgroup.subtree_control"), ctrls); err != nil {
		if t.place.V2Root || !errors.Is(err, syscall.EBUSY) {
			return err
		}
		leaf := base + "-server"
		if err := fsys.Mkdir(leaf); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := fsys.WriteFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
			return err
		}
		if err := fsys.WriteFile(filepath.Join(own, "cgroup.subtree_control"), ctrls); err != nil {
			return fmt.Errorf("other processes share the server's cgroup: %w", err)
		}
	}
	for _, d := range []string{base, t.v2} {
		if err := fsys.WriteFile(filepath.Join(d, "cgroup.subtree_control"), ctrls); err != nil {
			return err
		}
	}
	t.v2CPU = strings.Contains(ctrls, "cpu")
	return fsys.WriteFile(filepath.Join(t.v2, "memory.max"), strconv.FormatInt(t.total, 10))
}

// CPU names how the students' share of the CPU is kept: "cgroup v2" or
// "cgroup v1" (weights: the server first, each student's programs one
// share), or "" when no cpu controller is ours (niceness alone, then).
func (t *Tree) CPU() string {
	switch {
	case t.v2CPU:
		return SourceV2
	case !t.v2Limits && t.v1["cpu"] != "":
		return SourceV1
	}
	return ""
}

// ShareCPU gives every student program together StudentsWeight beside the
// server, and caps them at maxCores when above 0 (--students-cpu-max). It
// is kept across Recreate.
func (t *Tree) ShareCPU(maxCores float64) error {
	t.mu.Lock()
	t.cpuMax = maxCores
	t.mu.Unlock()
	return t.shareCPU()
}

func (t *Tree) shareCPU() error {
	var errs []error
	switch t.CPU() {
	case SourceV2:
		errs = append(errs, setWeight(t.fs, filepath.Dir(t.v2), "", StudentsWeight))
		quota := "max"
		if t.cpuMax > 0 {
			quota = strconv.FormatInt(int64(t.cpuMax*cfsPeriod), 10)
		}
		errs = append(errs, t.fs.WriteFile(filepath.Join(t.v2, "cpu.max"), quota+" "+strconv.Itoa(cfsPeriod)))
	case SourceV1:
		d := t.v1["cpu"]
		errs = append(errs, setWeight(t.fs, "", filepath.Dir(d), StudentsWeight))
		quota := "-1"
		if t.cpuMax > 0 {
			quota = strconv.FormatInt(int64(t.cpuMax*cfsPeriod), 10)
		}
		errs = append(errs, t.fs.WriteFile(filepath.Join(d, "cpu.cfs_period_us"), strconv.Itoa(cfsPeriod)),
			t.fs.WriteFile(filepath.Join(d, "cpu.cfs_quota_us"), quota))
	default:
		if t.cpuMax > 0 {
			return errors.New("cgroup: no cpu controller, so --students-cpu-max cannot be kept")
		}
	}
	return errors.Join(errs...)
}

// cfsPeriod is the scheduler period of a CPU cap, in µs.
const cfsPeriod = 100000

// setWeight writes weight (v2's scale) to the v2 folder v2 or, converted
// to shares, to the v1 cpu folder v1.
func setWeight(fsys FS, v2, v1 string, weight int) error {
	weight = min(max(weight, 1), 10000)
	if v2 != "" {
		return fsys.WriteFile(filepath.Join(v2, "cpu.weight"), strconv.Itoa(weight))
	}
	return fsys.WriteFile(filepath.Join(v1, "cpu.shares"), strconv.Itoa(max(weight*1024/100, 2)))
}

// Recreate makes the instance subtree again after it vanished (a
// neighbour's cleanup, an operator's rmdir), with the limits it had. Only
// the parts that worked at start-up are made.
func (t *Tree) Recreate() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	if t.v2 != "" {
		if err := t.mkdirs(t.v2); err != nil {
			errs = append(errs, err)
		} else if t.v2Limits {
			if err := t.enableV2(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for ctrl, d := range t.v1 {
		if err := t.mkdirs(d); err != nil {
			errs = append(errs, err)
			continue
		}
		if ctrl == "memory" {
			if err := t.fs.WriteFile(filepath.Join(d, "memory.limit_in_bytes"), strconv.FormatInt(t.total, 10)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 && t.CPU() != "" {
		errs = append(errs, t.shareCPU())
	}
	if err := errors.Join(errs...); err != nil {
		t.lost = "the cgroup subtree vanished and could not be made again, so no program can start: " + err.Error()
		return err
	}
	t.recreated++
	t.lost = ""
	return nil
}

// Problem says what is wrong with the subtree now ("" if nothing) and how
// often it vanished and was made again.
func (t *Tree) Problem() (lost string, recreated int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost, t.recreated
}

// Close removes the instance subtree (empty once every process ended) and
// the shared <name> folder if no other instance uses it.
func (t *Tree) Close() error {
	var errs []error
	for _, d := range t.dirs() {
		if err := t.fs.Rmdir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
		t.fs.Rmdir(filepath.Dir(d)) // fails while a neighbour's instance is in it: theirs
	}
	return errors.Join(errs...)
}

// dirs are the instance subtree's folders, one per hierarchy in use.
func (t *Tree) dirs() []string { return folders(t.v2, t.v1) }

// folders lists a v2 folder and v1 folders by controller, in a fixed order,
// leaving out the hierarchies not in use.
func folders(v2 string, v1 map[string]string) []string {
	var out []string
	if v2 != "" {
		out = append(out, v2)
	}
	for _, c := range Controllers {
		if d := v1[c]; d != "" && !slices.Contains(out, d) { // cpu,cpuacct may share one
			out = append(out, d)
		}
	}
	return out
}

// byHierarchy maps each hierarchy in use ("" for v2) to a folder derived
// from the instance subtree's.
func (t *Tree) byHierarchy(f func(dir string) string) map[string]string {
	out := map[string]string{}
	if t.v2 != "" {
		out[""] = f(t.v2)
	}
	for ctrl, d := range t.v1 {
		out[ctrl] = f(d)
	}
	return out
}

// Instances lists the other instance folders below the shared <name>
// folder (a neighbour's, or a dead server's), and the process cgroups
// sitting directly in it (the layout before instance subtrees), by name.
func (t *Tree) Instances() (instances, loose []string) {
	seen := map[string]bool{}
	for _, base := range t.byHierarchy(filepath.Dir) {
		entries, _ := t.fs.ReadDir(base)
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() || n == t.instance || seen[n] {
				continue
			}
			seen[n] = true
			if IsInstance(n) {
				instances = append(instances, n)
			} else {
				loose = append(loose, n)
			}
		}
	}
	slices.Sort(instances)
	slices.Sort(loose)
	return instances, loose
}

// IsInstance reports whether name is shaped as an instance folder's
// (InstanceName), not a process's.
func IsInstance(name string) bool {
	_, _, ok := ParseInstance(name)
	return ok
}

// InstanceName names a server's subtree after its pid and start time (and
// n > 1 for a second tree of one process, in tests): "i<pid>-<start>[-<n>]".
// The pid and start time say whether that server still runs.
func InstanceName(pid int, start uint64, n int) string {
	s := "i" + strconv.Itoa(pid) + "-" + strconv.FormatUint(start, 10)
	if n > 1 {
		s += "-" + strconv.Itoa(n)
	}
	return s
}

// ParseInstance reads an InstanceName.
func ParseInstance(name string) (pid int, start uint64, ok bool) {
	f := strings.Split(name, "-")
	if len(f) < 2 || len(f) > 3 || !strings.HasPrefix(f[0], "i") {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(f[0][1:])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return 0, 0, false
	}
	return pid, start, true
}

// Groups lists the process groups of our own instance subtree (where) or of
// another instance's (instance), by name; loose ones when instance is "".
func (t *Tree) Groups(instance string) map[string]*Group {
	var parents map[string]string
	switch instance {
	case t.instance:
		parents = t.byHierarchy(func(d string) string { return d })
	case "":
		parents = t.byHierarchy(filepath.Dir)
	default:
		parents = t.byHierarchy(func(d string) string { return filepath.Join(filepath.Dir(d), instance) })
	}
	out := map[string]*Group{}
	for hier, parent := range parents {
		entries, _ := t.fs.ReadDir(parent)
		for _, e := range entries {
			if !e.IsDir() || IsInstance(e.Name()) {
				continue
			}
			g := out[e.Name()]
			if g == nil {
				g = &Group{fs: t.fs, limits: t.v2Limits, v1: map[string]string{}}
				out[e.Name()] = g
			}
			d := filepath.Join(parent, e.Name())
			if hier == "" {
				g.v2 = d
			} else {
				g.v1[hier] = d
			}
		}
	}
	return out
}

// RemoveInstance removes another instance's (empty) subtree.
func (t *Tree) RemoveInstance(instance string) error {
	var errs []error
	for _, d := range t.byHierarchy(func(d string) string { return filepath.Join(filepath.Dir(d), instance) }) {
		if err := rmdirRetry(t.fs, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dirs are the instance subtree's folders, one per hierarchy in use.
func (t *Tree) Dirs() []string { return t.dirs() }
