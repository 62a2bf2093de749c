package sandbox

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"
)

func TestMain(m *testing.M) {
	RunHelperIfRequested()
	os.Exit(m.Run())
}

// mode is one way the sandbox can confine files on this machine.
type mode struct {
	name string
	cfg  Config
}

// modes returns every file-isolation mode this machine offers, so each test
// runs through bubblewrap and through Landlock alone.
func modes(t *testing.T) []mode {
	var out []mode
	if _, err := os.Stat(DefaultBwrap); err == nil {
		out = append(out, mode{"bwrap", Config{}})
	}
	if landlockABI() > 0 {
		out = append(out, mode{"landlock", Config{NoNamespaces: true}})
	}
	if len(out) == 0 {
		t.Skip("neither bubblewrap (/usr/bin/bwrap) nor Landlock is available")
	}
	return out
}

// newSandbox probes a sandbox with its own cgroup subtree for this test.
func newSandbox(t testing.TB, cfg Config) *Sandbox {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return newSandboxNamed(t, cfg, "pythonide-test-"+strconv.Itoa(os.Getpid())+"-"+name)
}

// newSandboxNamed probes a sandbox whose cgroup subtree is named name (two
// of them with one name are two servers on one host).
func newSandboxNamed(t testing.TB, cfg Config, name string) *Sandbox {
	t.Helper()
	cfg.CgroupName = name
	s, err := Probe(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// world is a scratch tree the unprivileged uid can use: a home it owns and
// folders standing for other people's data. Its root is private (0700), as
// a newcomer's mktemp -d or home folder is: staging (stage.go) must reach the
// home anyway. Landlock alone cannot remap or stage, so there the sandbox
// uid must be able to walk down to the home, as docs/security.md tells
// operators; only that mode's root is opened up.
type world struct {
	root, home string // host paths
	at         string // the home as the program sees it
}

func newWorld(t testing.TB, s *Sandbox) world {
	t.Helper()
	root, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if !s.Remaps() {
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(root, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(home, s.cfg.UID, s.cfg.GID); err != nil {
			t.Fatal(err)
		}
	}
	w := world{root: root, home: home, at: home}
	if s.Remaps() {
		w.at = "/home/student"
	}
	return w
}

// script writes a Python file into the home and returns its path as the
// program sees it.
func (w world) script(t *testing.T, name, code string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.home, name), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(w.at, name)
}

func (w world) spec(id string, args ...string) Spec {
	return Spec{ID: id, Args: append([]string{"-I", "-u"}, args...), Dir: w.at,
		Mounts: []Mount{{Host: w.home, At: w.at, Write: true}},
		Env:    []string{"PATH=/usr/bin:/bin", "HOME=" + w.at, "LANG=C.UTF-8"}}
}

// run starts spec and returns its exit and combined output.
func run(t *testing.T, s *Sandbox, spec Spec) (Exit, string) {
	t.Helper()
	var out strings.Builder
	spec.Stdout, spec.Stderr = &out, &out
	p, err := s.Start(spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	timer := time.AfterFunc(60*time.Second, func() { p.Kill() }) // a hung test must end
	defer timer.Stop()
	e := p.Wait()
	return e, out.String()
}

// gone reports whether pid no longer runs (absent, or a zombie no one reaped).
func gone(pid int) bool {
	f, err := statFields(pid)
	return err != nil || len(f) > 0 && f[0] == "Z"
}

// procSet is processes by pid with their start times, so a later look is
// not fooled by a pid the kernel gave to someone else meanwhile.
type procSet map[int]uint64

func snapshot(pids []int) procSet {
	ps := procSet{}
	for _, pid := range pids {
		if st, err := procStartTime(pid); err == nil {
			ps[pid] = st
		}
	}
	return ps
}

// alive lists the processes of ps that still run.
func (ps procSet) alive() []int {
	var out []int
	for pid, st := range ps {
		if now, err := procStartTime(pid); err == nil && now == st && !gone(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// startLines starts spec with stdout on a real pipe and delivers its lines;
// the channel closes when output ends. The process is killed at cleanup.
func startLines(t *testing.T, s *Sandbox, spec Spec) (*Process, <-chan string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec.Stdout, spec.Stderr = w, w
	p, err := s.Start(spec)
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return p, lines
}

// killGroup is the plain process-group kill a naive supervisor would do.
func killGroup(pid int) error {
	return syscall.Kill(-pid, syscall.SIGKILL)
}

// assertRemoved checks that none of a group's cgroup directories remain.
func assertRemoved(t *testing.T, g *cgroup.Group) {
	t.Helper()
	for _, d := range g.Dirs() {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s was not removed", d)
		}
	}
}
