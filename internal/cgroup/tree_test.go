package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// kernel is a folder tree that behaves like cgroupfs for what a Tree does:
// a new folder comes with its kernel files, an empty one is removed with
// them, and Mkdir can be made to fail.
type kernel struct {
	FS
	root        string
	failMkdir   func(name string) error // nil: Mkdir works
	controllers string                  // of every folder ("memory pids" unless set)
}

var kernelFiles = map[string]string{
	"cgroup.kill": "", "cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.controllers": "memory pids",
	"cgroup.events": "frozen 0\n", "cgroup.freeze": "0", "memory.max": "max", "memory.swap.max": "max",
	"memory.oom.group": "0", "memory.events": "oom_kill 0\n", "memory.current": "0", "pids.max": "max", "cpu.stat": "usage_usec 0\n",
	"cpu.weight": "100", "cpu.max": "max 100000", // v2
	"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000", "memory.limit_in_bytes": "", // v1
}

func newKernel(t *testing.T) *kernel {
	t.Helper()
	k := &kernel{root: t.TempDir()}
	k.FS = Root(k.root)
	if err := k.Mkdir("/cg"); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *kernel) Mkdir(name string) error {
	if k.failMkdir != nil {
		if err := k.failMkdir(name); err != nil {
			return err
		}
	}
	if err := os.Mkdir(k.Path(name), 0o755); err != nil {
		return err
	}
	for f, v := range kernelFiles {
		if f == "cgroup.controllers" && k.controllers != "" {
			v = k.controllers
		}
		if err := os.WriteFile(filepath.Join(k.Path(name), f), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (k *kernel) Rmdir(name string) error {
	entries, err := os.ReadDir(k.Path(name))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return syscall.EBUSY
		}
	}
	return os.RemoveAll(k.Path(name))
}

func (k *kernel) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(k.Path(name)) }

// WriteFile replaces the value, as a write to a kernel file does.
func (k *kernel) WriteFile(name, value string) error {
	if _, err := os.Stat(k.Path(name)); err != nil {
		return err
	}
	return os.WriteFile(k.Path(name), []byte(value), 0o644)
}

// place is a delegated v2 cgroup at /cg (the server's own).
func place() Place {
	return Place{V2: "/cg", V2Top: "/cg", V1: map[string]string{}, V1Top: map[string]string{}}
}

func TestTreeOnDelegatedV2(t *testing.T) {
	k := newKernel(t)
	tree, errs := NewTree(k, place(), "pythonide", InstanceName(10, 20, 1), 3<<30)
	if len(errs) > 0 || tree.Mode() != "v2" || !tree.LimitsMemory() {
		t.Fatalf("mode %s, errors %v", tree.Mode(), errs)
	}
	if got := readString(k, "/cg/pythonide/i10-20/memory.max"); got != "3221225472" {
		t.Errorf("instance memory.max = %q", got)
	}
	g, err := tree.Create("p1", Limits{Memory: 50 << 20, MaxProcs: 32})
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"memory.max": "52428800", "memory.swap.max": "0", "memory.oom.group": "1", "pids.max": "32"} {
		if got := readString(k, "/cg/pythonide/i10-20/p1/"+f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if _, err := tree.Create("p1", Limits{Memory: 50 << 20, MaxProcs: 32}); err == nil {
		t.Error("a second group with a live id was made")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := tree.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Stat("/cg/pythonide"); err == nil {
		t.Error("the shared folder stayed after the last instance closed")
	}
}

// A subtree that vanished is made again by the next Create; one that
// cannot be made again is reported as lost.
func TestTreeVanishedThenLost(t *testing.T) {
	k := newKernel(t)
	tree, _ := NewTree(k, place(), "pythonide", InstanceName(10, 20, 1), 1<<30)
	if err := os.RemoveAll(k.Path("/cg/pythonide")); err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Create("p1", Limits{Memory: 1 << 20, MaxProcs: 8}); err != nil {
		t.Fatalf("Create after the subtree vanished: %v", err)
	}
	if lost, n := tree.Problem(); lost != "" || n != 1 {
		t.Errorf("Problem() = %q, %d; want nothing lost, made again once", lost, n)
	}
	if got := readString(k, "/cg/pythonide/i10-20/memory.max"); got != "1073741824" {
		t.Errorf("the limit was not set again: %q", got)
	}

	os.RemoveAll(k.Path("/cg/pythonide"))
	// The shared folder cannot be made (a read-only cgroup file system now,
	// say): the process's own folder then has no parent.
	k.failMkdir = func(name string) error {
		if name == "/cg/pythonide" {
			return syscall.EACCES
		}
		return nil
	}
	_, err := tree.Create("p2", Limits{Memory: 1 << 20, MaxProcs: 8})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Create with the subtree gone for good: %v", err)
	}
	if lost, _ := tree.Problem(); !strings.Contains(lost, "could not be made again") {
		t.Errorf("Problem() does not say the layer is lost: %q", lost)
	}
	k.failMkdir = nil
	if _, err := tree.Create("p3", Limits{Memory: 1 << 20, MaxProcs: 8}); err != nil {
		t.Fatal(err)
	}
	if lost, n := tree.Problem(); lost != "" || n != 2 {
		t.Errorf("after it could be made again: Problem() = %q, %d", lost, n)
	}
}

// Two servers sharing the name: each sees the other as an instance, a
// process cgroup of the old layout as loose, and closing one leaves the
// other's subtree.
func TestTreeNeighbours(t *testing.T) {
	k := newKernel(t)
	a, _ := NewTree(k, place(), "pythonide", InstanceName(10, 20, 1), 1<<30)
	b, _ := NewTree(k, place(), "pythonide", InstanceName(11, 30, 1), 1<<30)
	if err := k.Mkdir("/cg/pythonide/p0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	inst, loose := a.Instances()
	if strings.Join(inst, ",") != "i11-30" || strings.Join(loose, ",") != "p0123456789abcdef" {
		t.Errorf("Instances() = %v, %v", inst, loose)
	}
	if _, err := b.Create("p1", Limits{Memory: 1 << 20, MaxProcs: 8}); err != nil {
		t.Fatal(err)
	}
	if gs := a.Groups("i11-30"); len(gs) != 1 || gs["p1"] == nil {
		t.Errorf("a.Groups(b's instance) = %v", gs)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Stat("/cg/pythonide/i11-30/p1"); err != nil {
		t.Errorf("closing a removed its neighbour's group: %v", err)
	}
}

func TestInstanceNames(t *testing.T) {
	for _, c := range []struct {
		pid   int
		start uint64
		n     int
		name  string
	}{{12, 345, 1, "i12-345"}, {12, 345, 2, "i12-345-2"}} {
		name := InstanceName(c.pid, c.start, c.n)
		pid, start, ok := ParseInstance(name)
		if name != c.name || !ok || pid != c.pid || start != c.start {
			t.Errorf("InstanceName(%d, %d, %d) = %q, parsed %d %d %t", c.pid, c.start, c.n, name, pid, start, ok)
		}
	}
	for _, s := range []string{"p0123456789abcdef", "probe-1-pythonide-probe-x", "selftest-12", "i-1", "ix-2", "i0-1", "i1-2-3-4", "live"} {
		if IsInstance(s) {
			t.Errorf("%q taken for an instance folder", s)
		}
	}
}

// TestCPUOnV2: with the cpu controller delegated, every student program
// together weighs StudentsWeight beside the server, the cap is the
// instance's cpu.max, and a program's weight is its own folder's.
func TestCPUOnV2(t *testing.T) {
	k := newKernel(t)
	k.controllers = "memory pids cpu"
	os.WriteFile(k.Path("/cg/cgroup.controllers"), []byte(k.controllers), 0o644)
	tree, errs := NewTree(k, place(), "pythonide", InstanceName(10, 20, 1), 3<<30)
	if len(errs) > 0 || tree.CPU() != SourceV2 {
		t.Fatalf("CPU %q, errors %v", tree.CPU(), errs)
	}
	if got := readString(k, "/cg/pythonide/cgroup.subtree_control"); !strings.Contains(got, "+cpu") {
		t.Errorf("subtree_control %q: cpu not enabled for the programs", got)
	}
	if err := tree.ShareCPU(1.8); err != nil {
		t.Fatal(err)
	}
	if got := readString(k, "/cg/pythonide/cpu.weight"); got != "10" {
		t.Errorf("the students' weight is %q, want 10 beside the server's 100", got)
	}
	if got := readString(k, "/cg/pythonide/i10-20/cpu.max"); got != "180000 100000" {
		t.Errorf("the students' cap is %q, want 1.8 cores", got)
	}
	g, err := tree.Create("p1", Limits{Memory: 50 << 20, MaxProcs: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetCPUWeight(10); err != nil {
		t.Fatal(err)
	}
	if got := readString(k, "/cg/pythonide/i10-20/p1/cpu.weight"); got != "10" {
		t.Errorf("the program's weight is %q", got)
	}
	// A subtree that vanished comes back with its share and cap.
	g.Remove()
	os.RemoveAll(k.Path("/cg/pythonide"))
	if err := tree.Recreate(); err != nil {
		t.Fatal(err)
	}
	if readString(k, "/cg/pythonide/cpu.weight") != "10" || readString(k, "/cg/pythonide/i10-20/cpu.max") != "180000 100000" {
		t.Error("the share and the cap were not made again with the subtree")
	}
}

// TestCPUWithoutController: v2 without the cpu controller keeps no share
// (the sandbox falls back to niceness) and refuses a cap it cannot keep.
func TestCPUWithoutController(t *testing.T) {
	k := newKernel(t)
	tree, _ := NewTree(k, place(), "pythonide", InstanceName(10, 20, 1), 3<<30)
	if tree.CPU() != "" {
		t.Fatalf("CPU %q without the controller", tree.CPU())
	}
	if err := tree.ShareCPU(0); err != nil {
		t.Errorf("no cap asked: %v", err)
	}
	if err := tree.ShareCPU(1.5); err == nil {
		t.Error("a cap without a cpu controller was accepted")
	}
}

// TestCPUOnV1SharedHierarchy: v1 with cpu and cpuacct mounted together
// (Debian's hybrid) makes each folder once and writes shares and quota.
func TestCPUOnV1SharedHierarchy(t *testing.T) {
	k := newKernel(t)
	for _, d := range []string{"/v1", "/v1/memory", "/v1/pids", "/v1/cpu,cpuacct"} {
		if err := k.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	p := Place{V1: map[string]string{"memory": "/v1/memory", "pids": "/v1/pids", "cpu": "/v1/cpu,cpuacct", "cpuacct": "/v1/cpu,cpuacct"}, V1Top: map[string]string{}}
	tree, errs := NewTree(k, p, "pythonide", InstanceName(10, 20, 1), 3<<30)
	if len(errs) > 0 || tree.CPU() != SourceV1 || tree.Mode() != "v1" {
		t.Fatalf("CPU %q, mode %s, errors %v", tree.CPU(), tree.Mode(), errs)
	}
	if err := tree.ShareCPU(1.8); err != nil {
		t.Fatal(err)
	}
	if got := readString(k, "/v1/cpu,cpuacct/pythonide/cpu.shares"); got != "102" {
		t.Errorf("the students' shares are %q, want 102 beside the server's 1024", got)
	}
	if got := readString(k, "/v1/cpu,cpuacct/pythonide/i10-20/cpu.cfs_quota_us"); got != "180000" {
		t.Errorf("the students' quota is %q", got)
	}
	g, err := tree.Create("p1", Limits{Memory: 50 << 20, MaxProcs: 32})
	if err != nil {
		t.Fatalf("a group where two controllers share a hierarchy: %v", err)
	}
	if err := g.SetCPUWeight(10); err != nil {
		t.Fatal(err)
	}
	if got := readString(k, "/v1/cpu,cpuacct/pythonide/i10-20/p1/cpu.shares"); got != "102" {
		t.Errorf("the program's shares are %q", got)
	}
	if n := len(g.Dirs()); n != 3 {
		t.Errorf("the group's folders %v: one per hierarchy", g.Dirs())
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
}
