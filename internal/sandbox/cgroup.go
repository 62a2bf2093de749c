package sandbox

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
	"time"

	"golang.org/x/sys/unix"
)

// cgroups is our subtree in each hierarchy, set up once by Probe:
// <the server's own cgroup>/<name>/<instance>/<process id>. The <name>
// folder is shared by every instance started in the same cgroup with the same
// --cgroup-name (two servers on one host, say); each instance works only in
// its own <instance> folder, named after its pid and start time, so a
// shutdown removes only its own, and start-up reaping can tell a dead
// instance's leftovers from a live neighbour's (reap.go).
type cgroups struct {
	m        cgroupMounts
	name     string
	instance string
	total    int64 // memory limit of the instance subtree

	v2       string            // our instance subtree in v2 ("" if none); cgroup.kill, placement, cpu.stat
	v2Limits bool              // v2 has memory and pids enabled below v2
	v1       map[string]string // controller -> our instance subtree in v1 (used when !v2Limits)

	mu        sync.Mutex // serialises recreate; guards the two below
	recreated int        // times the subtree vanished and was made again
	lost      string     // why it could not be made again; "" while it works
}

// mode names the cgroup layer for Layers.Cgroup.
func (c *cgroups) mode() string {
	switch {
	case c.v2Limits:
		return "v2"
	case c.v1["memory"] != "" && c.v1["pids"] != "" && c.v2 != "":
		return "hybrid" // v1 limits, v2 placement and kill
	case c.v1["memory"] != "" && c.v1["pids"] != "":
		return "v1"
	}
	return "none"
}

func (c *cgroups) limitsMemory() bool { return c.v2Limits || c.v1["memory"] != "" }

// bases are the shared <name> folders, per hierarchy ("" for v2).
func (c *cgroups) bases() map[string]string {
	out := map[string]string{}
	if c.v2 != "" {
		out[""] = filepath.Dir(c.v2)
	}
	for ctrl, d := range c.v1 {
		out[ctrl] = filepath.Dir(d)
	}
	return out
}

// setupCgroups creates our subtree and sets the total memory limit. It keeps
// whatever parts work: a host may offer v2 kill without any controllers.
func setupCgroups(m cgroupMounts, name, instance string, totalMemory int64) (*cgroups, []error) {
	c := &cgroups{m: m, name: name, instance: instance, total: totalMemory, v1: map[string]string{}}
	var errs []error
	if m.v2 != "" {
		dir := filepath.Join(m.v2, name, instance)
		if err := mkdirs(dir, 2); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v2: %w", err))
		} else if !exists(filepath.Join(dir, "cgroup.kill")) {
			errs = append(errs, errors.New("cgroup v2: no cgroup.kill (kernel < 5.14)"))
			os.Remove(dir)
			os.Remove(filepath.Dir(dir))
		} else {
			c.v2 = dir
			if err := enableV2Controllers(m, dir, totalMemory); err != nil {
				errs = append(errs, fmt.Errorf("cgroup v2 controllers: %w", err))
			} else {
				c.v2Limits = true
			}
		}
	}
	if c.v2Limits {
		return c, errs
	}
	for ctrl, own := range m.v1 {
		dir := filepath.Join(own, name, instance)
		if err := mkdirs(dir, 2); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 %s: %w", ctrl, err))
			continue
		}
		c.v1[ctrl] = dir
	}
	if d := c.v1["memory"]; d != "" {
		if err := writeFile(d, "memory.limit_in_bytes", strconv.FormatInt(totalMemory, 10)); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 memory: %w", err))
			delete(c.v1, "memory")
		}
	}
	return c, errs
}

// mkdirs makes dir and up to levels-1 of its parents that are missing.
func mkdirs(dir string, levels int) error {
	if levels > 1 {
		if err := mkdirs(filepath.Dir(dir), levels-1); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// enableV2Controllers turns on memory and pids down to our instance and
// limits the instance's memory. On a delegated v2 cgroup that holds the
// server itself, the server first moves into a leaf ("<name>-server"),
// because v2 forbids controllers in a cgroup that has processes (except at
// the root).
func enableV2Controllers(m cgroupMounts, dir string, totalMemory int64) error {
	avail := strings.Fields(readString(filepath.Join(m.v2, "cgroup.controllers")))
	if !slices.Contains(avail, "memory") || !slices.Contains(avail, "pids") {
		return errors.New("memory and pids controllers are not delegated to the server's cgroup")
	}
	base := filepath.Dir(dir)
	if err := writeFile(m.v2, "cgroup.subtree_control", "+memory +pids"); err != nil {
		if m.v2Root || !errors.Is(err, syscall.EBUSY) {
			return err
		}
		leaf := base + "-server"
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := writeFile(leaf, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
			return err
		}
		if err := writeFile(m.v2, "cgroup.subtree_control", "+memory +pids"); err != nil {
			return fmt.Errorf("other processes share the server's cgroup: %w", err)
		}
	}
	for _, d := range []string{base, dir} {
		if err := writeFile(d, "cgroup.subtree_control", "+memory +pids"); err != nil {
			return err
		}
	}
	return writeFile(dir, "memory.max", strconv.FormatInt(totalMemory, 10))
}

// recreate makes the instance subtree again after it vanished (a
// neighbour's cleanup, an operator's rmdir), with the limits it had. Only
// the parts that worked at start-up are made.
func (c *cgroups) recreate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	if c.v2 != "" {
		if err := mkdirs(c.v2, 2); err != nil {
			errs = append(errs, err)
		} else if c.v2Limits {
			if err := enableV2Controllers(c.m, c.v2, c.total); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for ctrl, d := range c.v1 {
		if err := mkdirs(d, 2); err != nil {
			errs = append(errs, err)
			continue
		}
		if ctrl == "memory" {
			if err := writeFile(d, "memory.limit_in_bytes", strconv.FormatInt(c.total, 10)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.lost = "the cgroup subtree vanished and could not be made again, so no program can start: " + err.Error()
		return err
	}
	c.recreated++
	c.lost = ""
	return nil
}

// problem says what is wrong with the cgroup layer now ("" if nothing).
func (c *cgroups) problem() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost, c.recreated
}

// close removes our instance subtree (empty once every process ended) and
// the shared <name> folder if no other instance uses it.
func (c *cgroups) close() error {
	var errs []error
	for _, d := range append([]string{c.v2}, mapValues(c.v1)...) {
		if d == "" {
			continue
		}
		if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
		unix.Rmdir(filepath.Dir(d)) // fails while a neighbour's instance is in it: theirs
	}
	return errors.Join(errs...)
}

// group is one process's cgroup(s).
type group struct {
	v2     string
	limits bool // v2 holds the limits
	v1     map[string]string
}

type groupLimits struct {
	memory   int64
	maxProcs int
}

// create makes the cgroup of one process and sets its limits. An existing
// directory of the same id is refused: it may hold someone's processes. A
// subtree that vanished is made again first.
func (c *cgroups) create(id string, lim groupLimits) (*group, error) {
	g, err := c.createIn(id, lim)
	if errors.Is(err, os.ErrNotExist) {
		if rerr := c.recreate(); rerr != nil {
			return nil, fmt.Errorf("%w (making the subtree again failed: %v)", err, rerr)
		}
		g, err = c.createIn(id, lim)
	}
	return g, err
}

func (c *cgroups) createIn(id string, lim groupLimits) (*group, error) {
	g := &group{v1: map[string]string{}, limits: c.v2Limits}
	fail := func(err error) (*group, error) {
		g.remove()
		return nil, err
	}
	if c.v2 != "" {
		dir := filepath.Join(c.v2, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(err)
		}
		g.v2 = dir
		if c.v2Limits {
			mem := strconv.FormatInt(lim.memory, 10)
			for _, kv := range [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"memory.oom.group", "1"}, {"pids.max", strconv.Itoa(lim.maxProcs)}} {
				if err := writeFile(dir, kv[0], kv[1]); err != nil && !(kv[0] == "memory.swap.max" && errors.Is(err, os.ErrNotExist)) {
					return fail(err)
				}
			}
			return g, nil
		}
	}
	for ctrl, parent := range c.v1 {
		dir := filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(err)
		}
		g.v1[ctrl] = dir
	}
	if d := g.v1["memory"]; d != "" {
		mem := strconv.FormatInt(lim.memory, 10)
		if err := writeFile(d, "memory.limit_in_bytes", mem); err != nil {
			return fail(err)
		}
		// memsw exists only with swap accounting; it must be set after the
		// plain limit (memsw >= mem) and keeps the process from swapping.
		if exists(filepath.Join(d, "memory.memsw.limit_in_bytes")) {
			if err := writeFile(d, "memory.memsw.limit_in_bytes", mem); err != nil {
				return fail(err)
			}
		}
	}
	if d := g.v1["pids"]; d != "" {
		if err := writeFile(d, "pids.max", strconv.Itoa(lim.maxProcs)); err != nil {
			return fail(err)
		}
	}
	return g, nil
}

// joinFiles are the v1 cgroup.procs files the helper writes its pid into.
func (g *group) joinFiles() []string {
	var out []string
	for _, d := range g.v1 {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	slices.Sort(out)
	return out
}

// placementFD opens the v2 cgroup for SysProcAttr.UseCgroupFD; -1 if none.
func (g *group) placementFD() (int, error) {
	if g.v2 == "" {
		return -1, nil
	}
	return unix.Open(g.v2, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// kill kills every process in the group. It never signals anything that is
// not listed in our own cgroup, and never writes to cgroup.procs.
func (g *group) kill() error {
	return killCgroup(g.v2, g.v1["freezer"], g.v1)
}

func killCgroup(v2, freezer string, v1 map[string]string) error {
	if v2 != "" {
		if err := writeFile(v2, "cgroup.kill", "1"); err == nil {
			return nil
		}
	}
	if freezer != "" {
		if err := writeFile(freezer, "freezer.state", "FROZEN"); err == nil {
			// Frozen tasks cannot fork, so the list we read is complete.
			waitUntil(func() bool { return strings.TrimSpace(readString(filepath.Join(freezer, "freezer.state"))) == "FROZEN" })
			err := signalMembers(freezer)
			writeFile(freezer, "freezer.state", "THAWED")
			return err
		}
	}
	// Without a freezer, repeat until no member is left (forks race us).
	var err error
	for _, d := range v1 {
		for i := 0; i < 20 && len(members(d)) > 0; i++ {
			err = signalMembers(d)
		}
	}
	return err
}

func signalMembers(dir string) error {
	var errs []error
	self := os.Getpid()
	for _, pid := range members(dir) {
		if pid <= 1 || pid == self {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// members lists the pids in a cgroup.
func members(dir string) []int {
	var pids []int
	for _, f := range strings.Fields(readString(filepath.Join(dir, "cgroup.procs"))) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// empty reports whether no process is left in any of the group's cgroups.
func (g *group) empty() bool {
	if g.v2 != "" && len(members(g.v2)) > 0 {
		return false
	}
	for _, d := range g.v1 {
		if len(members(d)) > 0 {
			return false
		}
	}
	return true
}

// oomKilled reports whether the kernel's OOM killer acted in the group.
func (g *group) oomKilled() bool {
	if g.limits {
		return fieldValue(filepath.Join(g.v2, "memory.events"), "oom_kill") > 0
	}
	if d := g.v1["memory"]; d != "" {
		return fieldValue(filepath.Join(d, "memory.oom_control"), "oom_kill") > 0
	}
	return false
}

// usage returns charged memory and CPU seconds; ok is false without cgroups.
func (g *group) usage() (mem int64, cpu float64, ok bool) {
	memOK, cpuOK := false, false
	if g.limits {
		if v, err := strconv.ParseInt(strings.TrimSpace(readString(filepath.Join(g.v2, "memory.current"))), 10, 64); err == nil {
			mem, memOK = v, true
		}
	} else if d := g.v1["memory"]; d != "" {
		if v, err := strconv.ParseInt(strings.TrimSpace(readString(filepath.Join(d, "memory.usage_in_bytes"))), 10, 64); err == nil {
			mem, memOK = v, true
		}
	}
	// v2 cpu.stat exists in every cgroup, controllers or not.
	if g.v2 != "" {
		if v := fieldValue(filepath.Join(g.v2, "cpu.stat"), "usage_usec"); v >= 0 {
			cpu, cpuOK = float64(v)/1e6, true
		}
	} else if d := g.v1["cpuacct"]; d != "" {
		if v, err := strconv.ParseInt(strings.TrimSpace(readString(filepath.Join(d, "cpuacct.usage"))), 10, 64); err == nil {
			cpu, cpuOK = float64(v)/1e9, true
		}
	}
	return mem, cpu, memOK && cpuOK
}

// remove kills what is left, waits for the group to empty and removes it.
func (g *group) remove() error {
	if !g.empty() {
		g.kill()
		waitUntil(g.empty)
	}
	var errs []error
	for _, d := range append([]string{g.v2}, mapValues(g.v1)...) {
		if d == "" {
			continue
		}
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rmdirRetry retries while the kernel finishes tearing down killed tasks.
func rmdirRetry(dir string) error {
	var err error
	waitUntil(func() bool {
		err = unix.Rmdir(dir)
		return err == nil || err == unix.ENOENT
	})
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	return nil
}

// waitUntil polls cond for up to 5 s: cgroup state changes are asynchronous
// but take around a millisecond.
func waitUntil(cond func() bool) bool {
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

// fieldValue reads "key value" lines (memory.events, cpu.stat, oom_control); -1 if absent.
func fieldValue(path, key string) int64 {
	for _, line := range strings.Split(readString(path), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return v
			}
		}
	}
	return -1
}

func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// allMembers lists every pid in any of the group's cgroups, once.
func (g *group) allMembers() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range append([]string{g.v2}, mapValues(g.v1)...) {
		if d == "" {
			continue
		}
		for _, pid := range members(d) {
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}
