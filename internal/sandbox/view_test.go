package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The data folder of a newcomer sits under a private folder (a clone under
// root's home, mktemp -d): the sandbox uid cannot walk to it, and programs
// must run anyway, seeing only neutral paths.
func TestPrivateParentsAndNeutralPaths(t *testing.T) {
	s := newSandbox(t, Config{})
	if !s.Remaps() {
		t.Skip("bubblewrap is not available: without a mount namespace programs see host paths (docs/security.md)")
	}
	w := newWorld(t, s)
	if fi, err := os.Stat(w.root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the world's root should be private as mktemp -d makes it: %v %v", fi.Mode(), err)
	}
	course := filepath.Join(w.root, "ide", "Lecture Notes")
	if err := os.MkdirAll(course, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(course, "notes.txt"), []byte("week one"), 0o644)
	os.Mkdir(filepath.Join(w.root, "runtime"), 0o755)
	os.Mkdir(filepath.Join(w.root, "ide", "bob"), 0o755)

	code := `import os, sys, traceback
print('cwd', os.getcwd())
print('root', sorted(os.listdir('/')))
print('course', open('/course/Lecture Notes/notes.txt').read())
try:
    open('/course/Lecture Notes/x', 'w')
    print('course writable')
except OSError as e:
    print('course read-only', type(e).__name__)
open('mine.txt', 'w').write('saved')
for p in sys.argv[1:]:
    print('host', p, os.path.exists(p))
print('proc', os.path.exists('/proc/1/cmdline'), os.path.exists('/proc/self/mountinfo'))
def f():
    raise ValueError('boom')
f()
`
	spec := w.spec("neutral", w.script(t, "show.py", code), w.root, w.home, course)
	spec.Mounts = append(spec.Mounts, Mount{Host: course, At: "/course/Lecture Notes"})
	e, out := run(t, s, spec)
	if e.Reason != ReasonError {
		t.Errorf("exit %+v: want the ValueError's nonzero exit", e)
	}
	for _, want := range []string{
		"cwd /home/student\n",
		"course week one\n",
		"course read-only",
		"host " + w.root + " False\n", "host " + w.home + " False\n", "host " + course + " False\n",
		"proc False False\n",
		`File "/home/student/show.py", line 16`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Apart from the lines that name host paths on purpose (to say they
	// are absent), nothing of the host's data folder shows.
	seen := out
	for _, p := range []string{w.root, w.home, course} {
		seen = strings.ReplaceAll(seen, "host "+p+" False", "")
	}
	for _, leak := range []string{w.root, "runtime", "bob", "ide"} {
		if strings.Contains(seen, leak) {
			t.Errorf("the program sees %q of the host:\n%s", leak, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(w.home, "mine.txt")); err != nil || string(b) != "saved" {
		t.Errorf("the file written at /home/student is not in the home on the host: %q %v", b, err)
	}
}

// Without staging (Landlock alone, or a host without mount rights) a home
// the sandbox uid cannot reach fails at start with the reason, never later.
func TestUnreachableHomeFailsClearly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only a uid drop can leave the home out of reach")
	}
	if landlockABI() == 0 {
		t.Skip("Landlock is not available")
	}
	s := newSandbox(t, Config{NoNamespaces: true})
	root := t.TempDir() // private, as mktemp -d makes it
	home := filepath.Join(root, "home")
	os.Mkdir(home, 0o755)
	os.Chown(home, s.cfg.UID, s.cfg.GID)
	p, err := s.Start(Spec{ID: "unreachable", Args: []string{"-I", "-c", "pass"}, Dir: home, Mounts: []Mount{{Host: home, At: home, Write: true}}})
	if err == nil {
		e := p.Wait()
		t.Fatalf("a home the sandbox uid cannot reach started: %+v", e)
	}
	if !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("error %q does not say why", err)
	}
}

// Every student's program runs as the same uid. One of them must not
// reach another's: kill(-1), a kill of every pid there is, and ptrace.
func TestProgramsCannotReachEachOther(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			if !s.Remaps() && s.landlockABI < 6 {
				t.Skipf("Landlock ABI %d scopes no signals (6 does) and there is no pid namespace", s.landlockABI)
			}
			bobWorld, aliceWorld := newWorld(t, s), newWorld(t, s)
			bob, lines := startLines(t, s, bobWorld.spec("bob", "-c", "import time\nprint('up', flush=True)\nwhile True:\n    time.sleep(0.05)\n    print('tick', flush=True)"))
			if l := <-lines; l != "up" {
				t.Fatalf("bob's program said %q", l)
			}
			pidMax := 32768
			if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
				pidMax, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			code := fmt.Sprintf(`import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
try:
    os.kill(-1, 9)
except OSError as e:
    print('kill -1', type(e).__name__)
hit = 0
for pid in range(1, %d):
    if pid == os.getpid() or pid == 1 and %s:
        continue
    try:
        os.kill(pid, 9)
        hit += 1
    except OSError:
        pass
print('killed', hit)
traced = libc.ptrace(16, %d, None, None) == 0
print('ptrace', traced)
`, pidMax, map[bool]string{true: "True", false: "False"}[s.Remaps()], bob.PID())
			e, out := run(t, s, aliceWorld.spec("alice", "-c", code))
			if e.Reason != ReasonExited {
				t.Errorf("alice's program: exit %+v, output %q", e, out)
			}
			if !strings.Contains(out, "killed 0\n") || !strings.Contains(out, "ptrace False\n") {
				t.Errorf("alice reached other processes:\n%s", out)
			}
			// Bob's program still runs and still prints.
			for i := 0; i < 3; i++ {
				if l, ok := <-lines; !ok || l != "tick" {
					t.Fatalf("bob's program is gone after alice's attack (line %q, open %t)", l, ok)
				}
			}
			if gone(bob.PID()) {
				t.Errorf("bob's process is gone")
			}
		})
	}
}
