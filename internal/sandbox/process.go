package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"

	"golang.org/x/sys/unix"
)

// Spec describes one student process.
type Spec struct {
	ID   string   // registry id; names the process's cgroup (letters, digits, '-', '_', '.')
	Args []string // after the interpreter; paths in them are the program's (Mount.At)
	Dir  string   // working directory, the program's path: inside one of Mounts
	// Mounts are the folders the program sees: the owner's home (Write;
	// it must be usable by Config.UID) and read-only ones (course folders,
	// the driver), readable by Config.UID.
	Mounts []Mount
	// Env is the complete environment: nothing of the server's is inherited.
	// OPENBLAS/OMP/MKL_NUM_THREADS=1 are added unless given: threaded BLAS
	// spins forever at exit under memory limits.
	Env        []string
	Stdin      io.Reader // nil: /dev/null. Not an *os.File: copied until it ends or the process does
	Stdout     io.Writer // nil: discarded
	Stderr     io.Writer
	ExtraFiles []*os.File // become fd 3, 4, … (e.g. a control channel)
	// Nice, when above 0, starts the process at that niceness (unless the
	// server is nicer still) from the helper's own start-up on: a warm
	// interpreter prepared ahead of need gives way to running programs.
	// Foreground brings it back to 0.
	Nice int
	// NoLinks refuses the program making symbolic links (symlink and
	// symlinkat fail with EPERM; under Landlock alone its home lacks the
	// right): an exam's folder must hold no link, which the server's file
	// API would otherwise follow out of it (workspace.Limits).
	NoLinks bool
	// MemoryBytes, when above 0, is this process's memory limit instead of
	// Config.MemoryBytes (cgroup memory, else RLIMIT_DATA): the editor's
	// assistants (internal/assist) parse a whole file or a library's stubs.
	MemoryBytes int64
}

// Why a process ended.
const (
	ReasonExited = "exited"       // status 0
	ReasonError  = "error"        // nonzero status or a signal we did not send
	ReasonMemory = "memory_limit" // the kernel's OOM killer acted in its cgroup
	ReasonCPU    = "cpu_limit"    // RLIMIT_CPU
	ReasonKilled = "killed"       // Kill was called
)

// Exit is how a process ended.
type Exit struct {
	Code       int    // exit status; -1 when killed by a signal
	Signal     string // e.g. "SIGKILL", "" when it exited
	Reason     string
	CPUSeconds float64 // CPU time of the whole tree, as far as measurable
}

// outputDrain bounds how long Wait keeps copying output after the process
// ended: without cgroups a daemonised grandchild may hold the pipe forever.
const outputDrain = 2 * time.Second

// Process is a started sandboxed process.
type Process struct {
	s         *Sandbox
	id        string
	cmd       *exec.Cmd
	g         *cgroup.Group // nil without cgroups
	startTime uint64
	bwrap     bool

	copies   sync.WaitGroup
	readEnd  []*os.File // our ends of the output pipes, closed after the drain
	childEnd []*os.File // the child's ends of pipes we made, closed after Start
	stdinW   *os.File

	mu     sync.Mutex
	reaped bool // after this the pid may be reused: never signal it again
	killed bool

	once sync.Once
	exit Exit
}

// Start starts a confined process. Start returns only once the helper has
// exec'd (bubblewrap or python), so setup failures are returned here.
func (s *Sandbox) Start(spec Spec) (*Process, error) {
	if !validName(spec.ID) {
		return nil, fmt.Errorf("sandbox: invalid process id %q", spec.ID)
	}
	if err := checkMounts(spec.Mounts, spec.Dir, s.Remaps()); err != nil {
		return nil, err
	}
	if !s.claim(spec.ID) {
		return nil, fmt.Errorf("sandbox: process id %q is already running", spec.ID)
	}
	p := &Process{s: s, id: spec.ID, bwrap: s.layers.Namespaces}
	if err := p.start(spec); err != nil {
		p.closePipes()
		if p.g != nil {
			killTree(p.g, 0)
			p.g.Remove()
		}
		s.release(spec.ID)
		return nil, err
	}
	return p, nil
}

func (p *Process) start(spec Spec) error {
	s, cfg := p.s, p.s.cfg
	mem := cfg.MemoryBytes
	if spec.MemoryBytes > 0 {
		mem = spec.MemoryBytes
	}
	g, err := s.tree.Create(spec.ID, cgroup.Limits{Memory: mem, MaxProcs: cfg.MaxProcs})
	if err != nil {
		return fmt.Errorf("sandbox: cgroup: %w", err)
	}
	p.g = g
	req := helperRequest{
		Parent: os.Getpid(), StatusFD: 3 + len(spec.ExtraFiles),
		Rlimits: s.rlimits(mem), Drop: s.layers.UIDDrop, UID: cfg.UID, GID: cfg.GID,
		Seccomp: s.layers.Seccomp, Python: cfg.Python, Args: spec.Args,
		Env: threadEnv(spec.Env), Dir: spec.Dir, Nice: spec.Nice, NoLinks: spec.NoLinks,
	}
	if p.g != nil {
		req.JoinCgroups = p.g.JoinFiles()
	}
	hosts := make([]string, len(spec.Mounts))
	for i, m := range spec.Mounts {
		hosts[i] = m.Host
	}
	if s.layers.Namespaces {
		sources := hosts
		if s.stage != "" {
			req.Stage, req.StageFrom = s.stage, hosts
			sources = stagedSources(s.stage, len(hosts))
		}
		req.Bwrap, req.BwrapOpts = cfg.Bwrap, bwrapOptions(spec, sources)
	} else if s.layers.Landlock {
		req.LandlockABI = s.landlockABI
		req.LLPaths = append([]string{cfg.Python}, systemReadOnly...)
		req.LLWrite = []string{"/dev/null"}
		for _, m := range spec.Mounts {
			if m.Write {
				req.LLWrite = append(req.LLWrite, m.Host)
			} else {
				req.LLPaths = append(req.LLPaths, m.Host)
			}
		}
	}
	arg, err := json.Marshal(req)
	if err != nil {
		return err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer statusR.Close()

	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{helperArg0, string(arg)},
		Env:        []string{}, // the helper gets nothing of ours
		Dir:        "/",
		ExtraFiles: append(append([]*os.File(nil), spec.ExtraFiles...), statusW),
		// Our own copies end at the drain bound; this bounds exec's, if any.
		WaitDelay: outputDrain,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:    true, // own session and group: pgid == pid, never ours
			Pdeathsig: syscall.SIGKILL,
		},
	}
	p.cmd = cmd
	if req.Stage != "" {
		stagedStart(cmd.SysProcAttr)
	}
	if err := p.pipes(spec); err != nil {
		statusW.Close()
		return err
	}
	if p.g != nil {
		fd, err := p.g.PlacementFD()
		if err != nil {
			statusW.Close()
			return fmt.Errorf("sandbox: open cgroup: %w", err)
		}
		if fd >= 0 {
			defer unix.Close(fd)
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
		}
	}
	err = startNiced(cmd, spec.Nice)
	statusW.Close()
	p.closeChildEnds()
	if err != nil {
		return fmt.Errorf("sandbox: start helper: %w", err)
	}
	// EOF means the helper exec'd (the pipe is close-on-exec there).
	msg, _ := io.ReadAll(statusR)
	if len(msg) > 0 {
		p.Kill()
		p.Wait() // removes the cgroup
		p.g = nil
		return errors.New(string(msg))
	}
	p.startTime, _ = procStartTime(cmd.Process.Pid)
	p.copyInput(spec.Stdin)
	return nil
}

// startNiced starts cmd at niceness nice (0: as the server). The child
// inherits the niceness of the thread that forks it, so forking from a
// thread reniced for the moment makes even the helper's start-up (the Go
// runtime's, before it can renice itself) give way to running programs.
// Only root can renice the thread back afterwards; otherwise the helper
// renices itself (helperRequest.Nice) before it execs.
func startNiced(cmd *exec.Cmd, nice int) error {
	if nice <= 0 || os.Geteuid() != 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid) // the raw syscall gives 20 - nice
	if err != nil || 20-prio >= nice || unix.Setpriority(unix.PRIO_PROCESS, tid, nice) != nil {
		return cmd.Start()
	}
	// The thread must go back to the server's pool as it was: root can
	// always restore it (discarding the thread instead would fire the
	// child's Pdeathsig, which follows the forking thread).
	defer unix.Setpriority(unix.PRIO_PROCESS, tid, 20-prio)
	return cmd.Start()
}

// rlimits are set by the helper on itself before it execs; mem is the
// process's memory limit.
func (s *Sandbox) rlimits(mem int64) []rlimit {
	c := s.cfg
	r := []rlimit{
		{unix.RLIMIT_CPU, uint64(c.CPUSeconds), uint64(c.CPUSeconds) + 1}, // SIGXCPU, then SIGKILL
		{unix.RLIMIT_FSIZE, uint64(c.MaxFileBytes), uint64(c.MaxFileBytes)},
		{unix.RLIMIT_NOFILE, uint64(c.MaxOpenFiles), uint64(c.MaxOpenFiles)},
		{unix.RLIMIT_CORE, 0, 0},
		{unix.RLIMIT_STACK, 8 << 20, 8 << 20},
	}
	if !s.tree.LimitsMemory() {
		// No memory cgroup: DATA gives Python a clean MemoryError (AS would
		// break threads). The stack limit above keeps threads inside it.
		r = append(r, rlimit{unix.RLIMIT_DATA, uint64(mem), uint64(mem)})
	}
	return r
}

// threadEnv adds the single-thread BLAS settings unless the caller set them.
func threadEnv(env []string) []string {
	out := append([]string(nil), env...)
	for _, k := range []string{"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"} {
		found := false
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				found = true
			}
		}
		if !found {
			out = append(out, k+"=1")
		}
	}
	return out
}

// PID is the pid of the process we started (bubblewrap when namespaces are
// on; python is its descendant in a pid namespace).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// StartTime is field 22 of /proc/<pid>/stat: with PID it names the process
// uniquely even after the pid is reused.
func (p *Process) StartTime() uint64 { return p.startTime }

// Kill kills the whole tree at once (setsid and double-forked children
// included where cgroups or the pid namespace exist). Wait reports "killed".
func (p *Process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	p.killed = true
	// The process group is ours: Setsid made pgid == pid, and the unreaped
	// pid cannot have been reused.
	return killTree(p.g, p.cmd.Process.Pid)
}

// Freeze stops every process in the tree (cgroups only).
func (p *Process) Freeze() error { return p.freeze(true) }

// Thaw resumes a frozen tree.
func (p *Process) Thaw() error { return p.freeze(false) }

func (p *Process) freeze(on bool) error {
	if p.g == nil {
		return errors.New("sandbox: freezing needs cgroups")
	}
	return p.g.Freeze(on)
}
