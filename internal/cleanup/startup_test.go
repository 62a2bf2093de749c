package cleanup

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"
	"github.com/pythonide/pythonide/internal/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested()
	os.Exit(m.Run())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// probe is a sandbox whose cgroup subtree is named name.
func probe(t *testing.T, name string) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Probe(context.Background(), sandbox.Config{CgroupName: name}, quiet)
	if err != nil {
		t.Skipf("no confinement layer here: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// sleeper starts a program that prints "up" and sleeps, and waits for it.
func sleeper(t *testing.T, sb *sandbox.Sandbox, id string) *sandbox.Process {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	os.Mkdir(home, 0o755)
	os.Chown(home, sandbox.DefaultUID, sandbox.DefaultUID)
	at := home
	if sb.Remaps() {
		at = "/home/student"
	} else {
		os.Chmod(filepath.Dir(home), 0o755)
		os.Chmod(filepath.Dir(filepath.Dir(home)), 0o755) // Landlock alone: the uid walks to the home (docs/security.md)
	}
	r, w, _ := os.Pipe()
	p, err := sb.Start(sandbox.Spec{ID: id, Args: []string{"-I", "-c", "print('up', flush=True)\nimport time\ntime.sleep(1000)"},
		Dir: at, Mounts: []sandbox.Mount{{Host: home, At: at, Write: true}}, Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	if line, _ := bufio.NewReader(r).ReadString('\n'); line != "up\n" {
		t.Fatalf("%s said %q", id, line)
	}
	go io.Copy(io.Discard, r)
	return p
}

// startTime is field 22 of /proc/<pid>/stat ("" if the process is gone or
// a zombie), so a reused pid is not taken for a survivor.
func startTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return f[19]
}

// Start-up reaping kills only what no running server holds: groups a dead
// server's subtree left, groups in our own subtree we did not start, and
// nothing of a live neighbour with the same name, of our own running
// programs, or outside our cgroups.
func TestReapLeftovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups are managed only as root")
	}
	name := "pythonide-cleanuptest-" + strconv.Itoa(os.Getpid())
	sb := probe(t, name)
	if sb.Layers().Cgroup == "none" {
		t.Skip("no cgroups (layer: cgroup)")
	}
	live := sleeper(t, sb, "live")
	neighbour := probe(t, name) // another server, same --cgroup-name
	theirs := sleeper(t, neighbour, "theirs")

	// Stale groups as a crashed server leaves them, each a shell and its
	// setsid child: one in our own subtree, one in the subtree of a server
	// that no longer runs (our pid, another start time).
	fsys := cgroup.Root("/")
	own, _ := cgroup.NewTree(fsys, cgroup.Self(fsys), name, sb.Instance(), 3<<30)
	dead, _ := cgroup.NewTree(fsys, cgroup.Self(fsys), name, cgroup.InstanceName(os.Getpid(), 1, 1), 3<<30)
	t.Cleanup(func() { dead.Close() })
	stale := map[int]string{}
	var groups []*cgroup.Group
	for i, tree := range []*cgroup.Tree{own, dead} {
		g, err := tree.Create("stale"+strconv.Itoa(i), cgroup.Limits{Memory: 64 << 20, MaxProcs: 16})
		if err != nil {
			t.Fatal(err)
		}
		join := "for f in \"$@\"; do echo $$ > \"$f\"; done; setsid sleep 1000 & exec sleep 1000"
		sh := exec.Command("/bin/sh", append([]string{"-c", join, "sh"}, g.JoinFiles()...)...)
		if fd, _ := g.PlacementFD(); fd >= 0 {
			sh.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		}
		if err := sh.Start(); err != nil {
			t.Fatal(err)
		}
		defer sh.Wait()
		cgroup.WaitUntil(func() bool { return len(g.Members()) >= 2 })
		for _, pid := range g.Members() {
			stale[pid] = startTime(pid)
		}
		groups = append(groups, g)
	}
	if len(stale) < 4 {
		t.Fatalf("stale groups hold %v, want a shell and its setsid child in each", stale)
	}
	decoy := exec.Command("/bin/sleep", "1000")
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { decoy.Process.Kill(); decoy.Wait() }()

	n, err := ReapLeftovers(t.Context(), sb, quiet)
	if err != nil || n != len(stale) {
		t.Errorf("ReapLeftovers = %d, %v; want %d", n, err, len(stale))
	}
	time.Sleep(10 * time.Millisecond)
	for pid, st := range stale {
		if st != "" && startTime(pid) == st {
			t.Errorf("stale pid %d survived", pid)
		}
	}
	for _, g := range groups {
		for _, d := range g.Dirs() {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("stale cgroup %s was not removed", d)
			}
		}
	}
	for _, d := range dead.Dirs() {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the dead server's subtree %s was not removed", d)
		}
	}
	if startTime(decoy.Process.Pid) == "" {
		t.Error("the decoy sleep outside our cgroups was killed")
	}
	if _, _, err := live.Usage(); err != nil {
		t.Errorf("our own running program was reaped: %v", err)
	}
	if _, _, err := theirs.Usage(); err != nil {
		t.Errorf("the live neighbour's program was reaped: %v", err)
	}
	if _, err := sb.ReapGroup(sb.Instance(), "live"); err == nil {
		t.Error("ReapGroup accepted a running program of this server")
	}
}
