package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/pythonide/pythonide/internal/cgroup"

	"golang.org/x/sys/unix"
)

// Layers says which confinement layers are active (shared/SANDBOX.md).
type Layers struct {
	Cgroup     string `json:"cgroup"`     // "v2", "hybrid" (v1 limits, v2 placement and kill), "v1" or "none"
	Namespaces bool   `json:"namespaces"` // bubblewrap: user, pid, net, mount… namespaces
	Landlock   bool   `json:"landlock"`   // applied only when Namespaces is off
	Seccomp    bool   `json:"seccomp"`
	Rlimits    bool   `json:"rlimits"`
	UIDDrop    bool   `json:"uid_drop"`
	// Staged: mounts are bound by the helper first (stage.go), so the data
	// folder may sit below folders the sandbox uid cannot enter.
	Staged bool `json:"staged"`
	// CPU is how the server keeps its share of the CPU and each student
	// theirs: "v2" or "v1" (cgroup weights), or "nice" (niceness alone: no
	// cpu controller is the server's to use).
	CPU string `json:"cpu"`
}

// Confined reports whether student code is kept from other people's files.
func (l Layers) Confined() bool { return l.Namespaces || l.Landlock }

func (l Layers) String() string {
	return fmt.Sprintf("cgroup=%s namespaces=%t landlock=%t seccomp=%t rlimits=%t uid_drop=%t staged=%t cpu=%s",
		l.Cgroup, l.Namespaces, l.Landlock, l.Seccomp, l.Rlimits, l.UIDDrop, l.Staged, l.CPU)
}

// Sandbox starts confined processes. It is safe for concurrent use.
type Sandbox struct {
	cfg         Config
	log         *slog.Logger
	layers      Layers
	tree        *cgroup.Tree // our cgroup subtree; cgroup.None() without cgroups
	landlockABI int
	stage       string // where the helper stages mounts (stage.go); "" when it cannot

	mu   sync.Mutex
	live map[string]bool // ids whose cgroup belongs to a running process of ours
}

// Probe detects each layer, proves the stack works by running a trivial
// program through it (dropping a layer that fails, with a warning), and logs
// what is active. It refuses to return a sandbox that does not isolate files
// unless cfg.AllowUnconfined is set.
func Probe(ctx context.Context, cfg Config, log *slog.Logger) (*Sandbox, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	if fi, err := os.Stat(cfg.Python); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o001 == 0 {
		return nil, fmt.Errorf("python interpreter %s is missing or not executable by everyone", cfg.Python)
	}
	s := &Sandbox{cfg: cfg, log: log, live: map[string]bool{}, tree: cgroup.None()}
	s.layers.Rlimits = true
	s.layers.UIDDrop = os.Geteuid() == 0
	if s.layers.UIDDrop {
		fsys := cgroup.Root("/")
		tree, errs := cgroup.NewTree(fsys, cgroup.Self(fsys), cfg.CgroupName, newInstanceName(), cfg.TotalMemory)
		for _, e := range errs {
			log.Warn("sandbox: cgroup layer partly unavailable", "err", e)
		}
		s.tree = tree
	} else {
		log.Warn("sandbox: not root: student code runs as the server's own user and cgroups are not managed")
	}
	s.layers.Cgroup = s.tree.Mode()
	s.layers.CPU = "nice"
	switch err := s.tree.ShareCPU(cfg.StudentsCPUMax); {
	case err != nil:
		log.Warn("sandbox: the students' share of the CPU is not kept by cgroups; busy programs are lowered by niceness alone", "err", err)
	case s.tree.CPU() == cgroup.SourceV2:
		s.layers.CPU = "v2"
	case s.tree.CPU() == cgroup.SourceV1:
		s.layers.CPU = "v1"
	default:
		log.Warn("sandbox: no cpu controller is the server's to use; busy programs are lowered by niceness alone, and the server shares the CPU with them on equal terms")
	}
	if fi, err := os.Stat(cfg.Bwrap); err == nil && fi.Mode()&0o111 != 0 && !cfg.NoNamespaces {
		s.layers.Namespaces = true
		if s.layers.UIDDrop {
			if s.stage, err = newStage(); err != nil {
				log.Warn("sandbox: no stage folder for mounts", "err", err)
			}
		}
	}
	s.landlockABI = landlockABI()
	s.layers.Landlock = !s.layers.Namespaces && s.landlockABI > 0
	if _, ok := seccompProgram(false); ok {
		_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
		s.layers.Seccomp = err == nil
	}

	for {
		err := s.trial(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Warn("sandbox: trial run failed", "layers", s.layers.String(), "err", err)
		switch {
		case s.stage != "":
			// Without staging, bwrap reaches a home only if the sandbox
			// uid can walk down to it; the runner's self-test says so.
			os.Remove(s.stage)
			s.stage = ""
		case s.layers.Namespaces:
			s.layers.Namespaces = false
			s.layers.Landlock = s.landlockABI > 0
		case s.layers.Seccomp:
			s.layers.Seccomp = false
		case s.layers.Landlock:
			s.layers.Landlock = false
		default:
			return nil, fmt.Errorf("sandbox: cannot run %s at all: %w", cfg.Python, err)
		}
	}
	s.layers.Staged = s.stage != ""
	if !s.layers.Confined() {
		if !cfg.AllowUnconfined {
			return nil, errors.New("sandbox: neither bubblewrap nor Landlock works here, so student code could read other students' files; set AllowUnconfined to run anyway")
		}
		log.Error("sandbox: RUNNING STUDENT CODE WITHOUT FILE ISOLATION (AllowUnconfined)", "layers", s.layers.String())
	}
	log.Info("sandbox: layers active", "layers", s.layers.String(), "python", cfg.Python)
	return s, nil
}

// trial runs `python -I -c "print('ok')"` through the current layers.
func (s *Sandbox) trial(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "pythonide-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	at := dir
	if s.Remaps() {
		at = "/home/probe"
	}
	var out strings.Builder
	p, err := s.Start(Spec{
		ID:     "probe-" + strconv.Itoa(os.Getpid()) + "-" + filepath.Base(dir),
		Args:   []string{"-I", "-c", "print('ok')"},
		Mounts: []Mount{{Host: dir, At: at, Write: true}},
		Dir:    at, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { p.Kill() })
	defer stop()
	if e := p.Wait(); e.Reason != ReasonExited || strings.TrimSpace(out.String()) != "ok" {
		return fmt.Errorf("exit %+v, output %q", e, out.String())
	}
	return nil
}

// Layers reports the active layers (for logs and /health).
func (s *Sandbox) Layers() Layers { return s.layers }

// Close removes our (empty) cgroup subtree. Call it after every process ended.
func (s *Sandbox) Close() error {
	errs := []error{s.tree.Close()}
	if s.stage != "" {
		if err := os.Remove(s.stage); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Problems says what confinement this sandbox has lost since Probe, in
// words for /health ("" while nothing is lost), and how often its cgroup
// subtree vanished and was made again.
func (s *Sandbox) Problems() (lost string, recreated int) { return s.tree.Problem() }

// ProgramUser is who programs run as: the unprivileged uid and gid they
// drop to where the server is root (Layers.UIDDrop), else the server's own.
// A folder a program must write is given to them.
func (s *Sandbox) ProgramUser() (uid, gid int) {
	if !s.layers.UIDDrop {
		return os.Geteuid(), os.Getegid()
	}
	return s.cfg.UID, s.cfg.GID
}
