package sandbox

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"

	"golang.org/x/sys/unix"
)

func TestProbeReportsLayers(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			l := s.Layers()
			t.Logf("layers: %s", l)
			if !l.Rlimits || !l.Confined() {
				t.Errorf("layers %s: want rlimits and file isolation", l)
			}
			if m.name == "bwrap" && !l.Namespaces {
				t.Errorf("bubblewrap is installed but the namespace layer is off")
			}
			if m.name == "landlock" && (l.Namespaces || !l.Landlock) {
				t.Errorf("NoNamespaces: want Landlock instead of bubblewrap, got %s", l)
			}
			if os.Geteuid() == 0 && !l.UIDDrop {
				t.Errorf("running as root but uid drop is off")
			}
			if os.Geteuid() == 0 && cgroup.Self(cgroup.Root("/")).V1["memory"] != "" && l.Cgroup == "none" {
				t.Errorf("v1 memory cgroup is mounted but the cgroup layer is off")
			}
		})
	}
}

func TestHelloWorld(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			code := "import os\nprint('hello', os.getuid(), os.getgid())\nopen('out.txt','w').write('x')\n"
			e, out := run(t, s, w.spec("hello", w.script(t, "hello.py", code)))
			if e.Reason != ReasonExited || e.Code != 0 {
				t.Fatalf("exit %+v, output %q", e, out)
			}
			want := fmt.Sprintf("hello %d %d\n", s.cfg.UID, s.cfg.GID)
			if !s.layers.UIDDrop {
				want = fmt.Sprintf("hello %d %d\n", os.Getuid(), os.Getgid())
			}
			if out != want {
				t.Errorf("output %q, want %q", out, want)
			}
			if _, err := os.Stat(filepath.Join(w.home, "out.txt")); err != nil {
				t.Errorf("the home is not writable: %v", err)
			}
		})
	}
}

func TestExitReasons(t *testing.T) {
	cases := []struct {
		name, code string
		reason     string
		exitCode   int
		signal     string
	}{
		{"ok", "pass", ReasonExited, 0, ""},
		{"exception", "raise ValueError('x')", ReasonError, 1, ""},
		{"exit code", "import sys; sys.exit(3)", ReasonError, 3, ""},
		{"own signal", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)", ReasonError, -1, "SIGTERM"},
	}
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			for _, c := range cases {
				e, out := run(t, s, w.spec("reasons", "-c", c.code))
				if e.Reason != c.reason || e.Code != c.exitCode || e.Signal != c.signal {
					t.Errorf("%s: exit %+v, want reason %s code %d signal %q (output %q)", c.name, e, c.reason, c.exitCode, c.signal, out)
				}
			}
		})
	}
}

func TestMemoryBomb(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			if !s.tree.LimitsMemory() {
				t.Skip("no memory cgroup (layer: cgroup memory controller)")
			}
			w := newWorld(t, s)
			e, out := run(t, s, w.spec("membomb", "-c", "x = 'a' * (200 * 1024 * 1024)\nprint('survived')"))
			if e.Reason != ReasonMemory || strings.Contains(out, "survived") {
				t.Errorf("exit %+v, output %q: want memory_limit", e, out)
			}
		})
	}
}

func TestMemoryRlimitWithoutCgroup(t *testing.T) {
	// The rlimit fallback used where no memory cgroup exists.
	s := newSandbox(t, Config{})
	real := s.tree
	s.tree = cgroup.None()
	t.Cleanup(func() { s.tree = real }) // runs before Close removes the subtree
	w := newWorld(t, s)
	e, out := run(t, s, w.spec("datalimit", "-c", "x = 'a' * (200 * 1024 * 1024)"))
	if e.Reason != ReasonError || !strings.Contains(out, "MemoryError") {
		t.Errorf("exit %+v, output %q: want a MemoryError", e, out)
	}
}

const forkBomb = `
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
        n += 1
except OSError as e:
    print("held", n, type(e).__name__, flush=True)
time.sleep(1000)
`

func TestForkBombHeldAndKilled(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			if s.tree.Mode() == "none" {
				t.Skip("no pids cgroup (layer: cgroup pids controller)")
			}
			w := newWorld(t, s)
			p, lines := startLines(t, s, w.spec("forkbomb", w.script(t, "bomb.py", forkBomb)))
			line := <-lines
			var n int
			if _, err := fmt.Sscanf(line, "held %d", &n); err != nil || n >= s.cfg.MaxProcs {
				t.Errorf("fork bomb: %q, want held below %d", line, s.cfg.MaxProcs)
			}
			pids := p.g.Members()
			if len(pids) > s.cfg.MaxProcs {
				t.Errorf("%d processes in the cgroup, pids.max is %d", len(pids), s.cfg.MaxProcs)
			}
			procs := snapshot(pids)
			if err := p.Kill(); err != nil {
				t.Errorf("Kill: %v", err)
			}
			if e := p.Wait(); e.Reason != ReasonKilled {
				t.Errorf("exit %+v, want killed", e)
			}
			// SIGKILLed and out of their cgroups, they may still be in the
			// middle of exiting on a crowded machine (at the students' low
			// CPU weight): a moment later they must be gone.
			cgroup.WaitUntil(func() bool { return len(procs.alive()) == 0 })
			if left := procs.alive(); len(left) > 0 {
				t.Errorf("pids %v survived Kill", left)
			}
			assertRemoved(t, p.g)
		})
	}
}

const daemon = `
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print("daemon", os.getpid(), flush=True)
        time.sleep(1000)
    os._exit(0)
time.sleep(1000)
`

func TestKillReachesSetsidDoubleFork(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			if s.tree.Mode() == "none" && !s.layers.Namespaces {
				t.Skip("neither cgroups nor a pid namespace: a setsid daemon can escape Kill")
			}
			w := newWorld(t, s)
			p, lines := startLines(t, s, w.spec("daemon", w.script(t, "daemon.py", daemon)))
			var dpid int
			fmt.Sscanf(<-lines, "daemon %d", &dpid)
			pids := p.g.Members()
			if len(pids) < 2 {
				t.Fatalf("cgroup members %v: want the program and its daemon", pids)
			}
			if !s.layers.Namespaces {
				// The trap this guards against: a plain group kill misses it.
				if err := killGroup(p.PID()); err != nil {
					t.Fatal(err)
				}
				if gone(dpid) {
					t.Fatalf("daemon %d died from a group kill; the test proves nothing", dpid)
				}
			}
			procs := snapshot(pids)
			p.Kill()
			if !cgroup.WaitUntil(func() bool { return len(procs.alive()) == 0 }) {
				t.Errorf("processes %v survived Kill", pids)
			}
			if e := p.Wait(); e.Reason != ReasonKilled {
				t.Errorf("exit %+v, want killed", e)
			}
			assertRemoved(t, p.g)
		})
	}
}

func TestCPULimit(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.CPUSeconds = 1
			s := newSandbox(t, cfg)
			w := newWorld(t, s)
			e, out := run(t, s, w.spec("cpu", "-c", "while True: pass"))
			if e.Reason != ReasonCPU {
				t.Errorf("exit %+v, output %q: want cpu_limit", e, out)
			}
		})
	}
}

func TestFileSizeLimit(t *testing.T) {
	code := `
import errno
try:
    with open("big.bin", "wb") as f:
        f.write(b"x" * (2 * 1024 * 1024))
    print("wrote")
except OSError as e:
    print(errno.errorcode[e.errno])
`
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.MaxFileBytes = 1 << 20
			s := newSandbox(t, cfg)
			w := newWorld(t, s)
			e, out := run(t, s, w.spec("fsize", "-c", code))
			if e.Reason != ReasonExited || strings.TrimSpace(out) != "EFBIG" {
				t.Errorf("exit %+v, output %q: want EFBIG", e, out)
			}
		})
	}
}

func TestNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code := fmt.Sprintf(`
import socket
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(5)
        s.connect(("127.0.0.1", %d))
        s.send(b"x")
        print("connected", kind)
    except OSError as e:
        print("blocked", kind, e)
`, port)
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			if !s.layers.Namespaces && !s.layers.Seccomp {
				t.Skip("neither a network namespace nor seccomp (layers: namespaces, seccomp)")
			}
			w := newWorld(t, s)
			e, out := run(t, s, w.spec("net", "-c", code))
			if e.Reason != ReasonExited || strings.Contains(out, "connected") || strings.Count(out, "blocked") != 2 {
				t.Errorf("exit %+v, output %q: want both sockets blocked", e, out)
			}
		})
	}
}

func TestFileIsolation(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			// World-readable on purpose: only the sandbox may stop the reads.
			other := filepath.Join(w.root, "other-home")
			os.Mkdir(other, 0o755)
			os.WriteFile(filepath.Join(other, "secret.py"), []byte("answer = 42"), 0o644)
			db := filepath.Join(w.root, "pythonide.db")
			os.WriteFile(db, []byte("SQLite format 3"), 0o644)
			targets := []string{filepath.Join(other, "secret.py"), db, fmt.Sprintf("/proc/%d/environ", os.Getpid()), other}
			code := `
import os, sys
for p in sys.argv[1:]:
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            open(p, "rb").read()
        print("READ", p)
    except OSError as e:
        print("denied", p, type(e).__name__)
`
			e, out := run(t, s, w.spec("iso", append([]string{"-c", code}, targets...)...))
			if e.Reason != ReasonExited || strings.Contains(out, "READ") || strings.Count(out, "denied") != len(targets) {
				t.Errorf("exit %+v, output:\n%s", e, out)
			}
		})
	}
}

func TestEnvironmentHasNoServerSecrets(t *testing.T) {
	t.Setenv("PYTHONIDE_TEST_SECRET", "hunter2")
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			spec := w.spec("env", "-c", "import os\nfor k, v in sorted(os.environ.items()): print(k + '=' + v)")
			spec.Env = append(spec.Env, "GIVEN=yes")
			_, out := run(t, s, spec)
			if strings.Contains(out, "hunter2") || strings.Contains(out, "PYTHONIDE_TEST_SECRET") {
				t.Errorf("server secret leaked:\n%s", out)
			}
			for _, want := range []string{"GIVEN=yes", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1"} {
				if !strings.Contains(out, want+"\n") {
					t.Errorf("missing %s in:\n%s", want, out)
				}
			}
		})
	}
}

func TestExtraFilesAndStdin(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			r, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			// No /proc inside bubblewrap: find the open descriptors by fstat.
			list := "fds = []\nfor fd in range(256):\n    try:\n        os.fstat(fd)\n        fds.append(fd)\n    except OSError:\n        pass\nprint(fds)"
			spec := w.spec("ctl", "-c", "import os, sys\nos.write(3, sys.stdin.readline().encode())\n"+list)
			spec.ExtraFiles = []*os.File{wr}
			spec.Stdin = strings.NewReader("control\n")
			e, out := run(t, s, spec)
			wr.Close()
			got, _ := bufio.NewReader(r).ReadString('\n')
			if e.Reason != ReasonExited || got != "control\n" {
				t.Errorf("exit %+v, fd 3 got %q, output %q", e, got, out)
			}
			// 0, 1, 2 and the control fd: nothing else leaks in, not
			// bubblewrap's options or seccomp program either.
			if strings.TrimSpace(out) != "[0, 1, 2, 3]" {
				t.Errorf("open fds in the child: %s", out)
			}
		})
	}
}

// siblingTree is a subtree beside s's, as another server of the same
// name would have it.
func siblingTree(t *testing.T, s *Sandbox, instance string) *cgroup.Tree {
	t.Helper()
	fsys := cgroup.Root("/")
	tree, errs := cgroup.NewTree(fsys, cgroup.Self(fsys), s.cfg.CgroupName, instance, s.cfg.TotalMemory)
	if len(errs) > 0 && tree.Mode() != s.tree.Mode() {
		t.Fatal(errs)
	}
	t.Cleanup(func() { tree.Close() })
	return tree
}

// Two servers on one host with the same --cgroup-name: one shutting down
// must not take the other's cgroups, and a subtree that vanishes is made
// again on the next start.
func TestNeighbourShutdownAndVanishedSubtree(t *testing.T) {
	a := newSandbox(t, Config{})
	if a.tree.Mode() == "none" {
		t.Skip("no cgroups (layer: cgroup)")
	}
	b := newSandboxNamed(t, Config{}, a.cfg.CgroupName)
	w := newWorld(t, a)
	running, lines := startLines(t, a, w.spec("running", "-c", "print('up', flush=True)\nimport time\ntime.sleep(1000)"))
	<-lines
	if err := b.Close(); err != nil {
		t.Fatalf("the neighbour's Close: %v", err)
	}
	if _, _, err := running.Usage(); err != nil || gone(running.PID()) {
		t.Fatalf("a's program did not survive b's shutdown: %v", err)
	}
	if e, out := run(t, a, w.spec("after", "-c", "print('still here')")); e.Reason != ReasonExited || out != "still here\n" {
		t.Fatalf("a run after the neighbour's shutdown: %+v %q", e, out)
	}
	running.Kill()
	running.Wait()

	// Now a's whole subtree vanishes (an operator, an older neighbour).
	for _, d := range a.tree.Dirs() {
		if err := cgroup.WaitRmdir(d); err != nil {
			t.Fatal(err)
		}
	}
	if e, out := run(t, a, w.spec("again", "-c", "print('made again')")); e.Reason != ReasonExited || out != "made again\n" {
		t.Fatalf("a run after the subtree vanished: %+v %q", e, out)
	}
	if lost, n := a.Problems(); lost != "" || n != 1 {
		t.Errorf("Problems() = %q, %d; want nothing lost, recreated once", lost, n)
	}
}

func TestUsage(t *testing.T) {
	s := newSandbox(t, Config{})
	w := newWorld(t, s)
	p, lines := startLines(t, s, w.spec("usage", "-c", "x = 'a' * (20 * 1024 * 1024)\nimport time\nwhile time.process_time() < 0.3: pass\nprint('ready', flush=True)\ntime.sleep(1000)"))
	<-lines
	mem, cpu, err := p.Usage()
	if err != nil || mem < 20<<20 || cpu < 0.2 {
		t.Errorf("Usage = %d bytes, %.2f s, %v; want >= 20 MiB and >= 0.2 s", mem, cpu, err)
	}
	if p.StartTime() == 0 {
		t.Errorf("no start time")
	}
	p.Kill()
	p.Wait()
}

func TestStartRefusesBadSpecs(t *testing.T) {
	s := newSandbox(t, Config{})
	w := newWorld(t, s)
	cases := map[string]func(*Spec){
		"id with slash":     func(sp *Spec) { sp.ID = "../escape" },
		"relative home":     func(sp *Spec) { sp.Mounts[0].Host = "home" },
		"unclean read-only": func(sp *Spec) { sp.Mounts = append(sp.Mounts, Mount{Host: "/usr/../etc", At: "/usr/../etc"}) },
		"no mounts":         func(sp *Spec) { sp.Mounts = nil },
		"dir in no mount":   func(sp *Spec) { sp.Dir = "/nowhere" },
		"two at one place":  func(sp *Spec) { sp.Mounts = append(sp.Mounts, sp.Mounts[0]) },
		"over the system":   func(sp *Spec) { sp.Mounts[0].At, sp.Dir = "/usr/lib", "/usr/lib" },
		"over everything":   func(sp *Spec) { sp.Mounts[0].At, sp.Dir = "/", "/" },
	}
	for name, mutate := range cases {
		spec := w.spec("bad", "-c", "pass")
		mutate(&spec)
		if p, err := s.Start(spec); err == nil {
			p.Kill()
			p.Wait()
			t.Errorf("%s: Start accepted it", name)
		}
	}
	// The same id twice at once would share a cgroup.
	p, lines := startLines(t, s, w.spec("twice", "-c", "print('up', flush=True)\nimport time\ntime.sleep(1000)"))
	<-lines
	if q, err := s.Start(w.spec("twice", "-c", "pass")); err == nil {
		q.Wait()
		t.Errorf("a second process with a running id was started")
	}
	p.Kill()
	p.Wait()
}

func TestFreezeThaw(t *testing.T) {
	s := newSandbox(t, Config{})
	if s.tree.Mode() == "none" {
		t.Skip("no cgroups (layer: cgroup freezer)")
	}
	w := newWorld(t, s)
	p, lines := startLines(t, s, w.spec("freeze", "-c", "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.02)"))
	<-lines
	if err := p.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	// A frozen tree uses no CPU at all: the counter must not move.
	_, cpu1, err := p.Usage()
	time.Sleep(300 * time.Millisecond)
	_, cpu2, err2 := p.Usage()
	if err != nil || err2 != nil || cpu2 != cpu1 {
		t.Errorf("CPU moved while frozen: %v -> %v (%v, %v)", cpu1, cpu2, err, err2)
	}
	for len(lines) > 0 { // lines written before the freeze
		<-lines
	}
	if err := p.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	select {
	case <-lines:
	case <-time.After(10 * time.Second):
		t.Errorf("no output after Thaw")
	}
	p.Kill()
	if e := p.Wait(); e.Reason != ReasonKilled {
		t.Errorf("exit %+v", e)
	}
}

func TestBackgroundLowersTheWholeTreeOnly(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			spec := w.spec("nice-"+m.name, "-c", "import os, time\nif os.fork() == 0:\n    time.sleep(30)\nprint('up', flush=True)\ntime.sleep(30)\n")
			p, lines := startLines(t, s, spec)
			if l := <-lines; l != "up" {
				t.Fatalf("first line %q", l)
			}
			if err := p.Background(); err != nil {
				t.Fatal(err)
			}
			// Every process of the tree, as the host sees it, now runs at
			// nice 10 (the raw syscall returns 20 - nice); the server is untouched.
			tree := descendants(p.PID())
			if len(tree) < 2 { // python (under bwrap: inside bwrap) and its child
				t.Fatalf("tree of %d: %v", p.PID(), tree)
			}
			for _, pid := range tree {
				if prio, err := unix.Getpriority(unix.PRIO_PROCESS, pid); err == nil && 20-prio != BackgroundNice {
					t.Errorf("pid %d runs at nice %d", pid, 20-prio)
				}
			}
			if prio, _ := unix.Getpriority(unix.PRIO_PROCESS, os.Getpid()); 20-prio != 0 {
				t.Errorf("the server itself runs at nice %d", 20-prio)
			}
		})
	}
}

func TestNiceStartAndForeground(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raising a process's priority back to 0 needs root")
	}
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			spec := w.spec("fg-"+m.name, "-c", "import os, time\nif os.fork() == 0:\n    time.sleep(30)\nprint('up', os.getpriority(os.PRIO_PROCESS, 0), flush=True)\ntime.sleep(30)\n")
			spec.Nice = 7
			p, lines := startLines(t, s, spec)
			if l := <-lines; l != "up 7" {
				t.Fatalf("first line %q: want the program itself to see nice 7", l)
			}
			// The server's own threads (one forked the helper, reniced for the
			// moment) are all back at nice 0.
			tasks, _ := os.ReadDir("/proc/self/task")
			for _, task := range tasks {
				tid, _ := strconv.Atoi(task.Name())
				if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && 20-prio != 0 {
					t.Errorf("server thread %d left at nice %d", tid, 20-prio)
				}
			}
			if err := p.Foreground(); err != nil {
				t.Fatal(err)
			}
			tree := descendants(p.PID())
			if len(tree) < 2 {
				t.Fatalf("tree of %d: %v", p.PID(), tree)
			}
			for _, pid := range tree {
				if prio, err := unix.Getpriority(unix.PRIO_PROCESS, pid); err == nil && 20-prio != 0 {
					t.Errorf("pid %d runs at nice %d after Foreground", pid, 20-prio)
				}
			}
		})
	}
}

// descendants lists pid and every process below it.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
