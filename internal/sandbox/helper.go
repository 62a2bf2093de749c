package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/pythonide/pythonide/internal/cgroup"

	"golang.org/x/sys/unix"
)

// helperArg0 marks the re-exec'd server binary as the sandbox helper. An argv
// marker rather than an environment variable, because the helper's
// environment must be empty and nothing of it may reach the student.
const helperArg0 = "pythonide-sandbox-helper"

// helperRequest is everything the helper does, decided by the server.
type helperRequest struct {
	Parent      int      // server pid: the helper exits if it was orphaned before PDEATHSIG was re-armed
	StatusFD    int      // close-on-exec pipe: an error text before exec, EOF after
	JoinCgroups []string // v1 cgroup.procs files to write our own pid into
	Rlimits     []rlimit
	Drop        bool // setgroups/setresgid/setresuid to UID/GID
	UID, GID    int
	Seccomp     bool     // install the seccomp program (ourselves, or through bwrap)
	LandlockABI int      // >0: apply Landlock with these rules (no bwrap)
	LLPaths     []string // Landlock rules, read-only
	LLWrite     []string // Landlock rules, read-write
	Bwrap       string   // bubblewrap's path, or "" to exec python directly
	BwrapOpts   []string // bubblewrap's options (given to it through --args)
	Stage       string   // stage folder: bind StageFrom there first (stage.go)
	StageFrom   []string // host folders to stage, in order: Stage/0, Stage/1, …
	Python      string
	Args        []string
	Env         []string
	Dir         string
	Nice        int  // >0: niceness to start at
	NoLinks     bool // Spec.NoLinks
}

type rlimit struct {
	Resource int
	Cur, Max uint64
}

// RunHelperIfRequested turns this process into the sandbox helper when it was
// started as one, and never returns in that case. Call it first in main() and
// in TestMain of every package that starts sandboxed processes.
func RunHelperIfRequested() {
	if len(os.Args) != 2 || os.Args[0] != helperArg0 {
		return
	}
	// Every step below (cgroup join excepted) is per thread, and exec keeps
	// only the calling thread: do all of it on one locked thread.
	runtime.LockOSThread()
	var req helperRequest
	if err := json.Unmarshal([]byte(os.Args[1]), &req); err != nil {
		os.Exit(127)
	}
	err := runHelper(req)
	// Reached only on failure: tell the server why, on the status pipe.
	status := os.NewFile(uintptr(req.StatusFD), "status")
	fmt.Fprintf(status, "sandbox helper: %v", err)
	os.Exit(127)
}

func runHelper(req helperRequest) error {
	if _, err := unix.FcntlInt(uintptr(req.StatusFD), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("status fd: %w", err)
	}
	// Descriptors the server inherited from whatever started it are not
	// close-on-exec and would reach the student: mark everything after our
	// own descriptors so exec closes it.
	if err := unix.CloseRange(uint(req.StatusFD+1), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	// Everything that allocates comes before the rlimits: under a small
	// RLIMIT_DATA (no memory cgroup) the Go runtime itself could not grow
	// its heap afterwards.
	prog, _ := seccompProgram(req.NoLinks)
	var bwrapArgv []string
	if req.Bwrap != "" {
		opts := req.BwrapOpts
		if req.Seccomp {
			fd, err := memfd("seccomp", seccompBytes(prog))
			if err != nil {
				return err
			}
			opts = append(opts, "--seccomp", strconv.Itoa(fd))
		}
		// The options go through a descriptor: bwrap's command line (pid 1
		// in the sandbox) then names no mount, staged or not.
		var b []byte
		for _, o := range opts {
			b = append(append(b, o...), 0)
		}
		fd, err := memfd("bwrap-args", b)
		if err != nil {
			return err
		}
		bwrapArgv = append([]string{req.Bwrap, "--args", strconv.Itoa(fd), "--", req.Python}, req.Args...)
	}
	if req.Stage != "" {
		if err := stageMounts(req.Stage, req.StageFrom); err != nil {
			return err
		}
	}
	var llRules []landlockRule
	for _, p := range req.LLPaths {
		llRules = append(llRules, landlockRule{path: p})
	}
	for _, p := range req.LLWrite {
		llRules = append(llRules, landlockRule{path: p, rw: true, noLinks: req.NoLinks})
	}
	pythonArgv := append([]string{req.Python}, req.Args...)
	if err := cgroup.JoinSelf(req.JoinCgroups); err != nil {
		return err
	}
	// The limits come last, just before the exec: under RLIMIT_DATA the
	// helper's own Go runtime could not grow its heap for the steps
	// between (a test run saw "runtime: cannot allocate memory" in
	// Setresgid). Lowering a limit needs no privilege.
	setRlimits := func() error {
		for _, r := range req.Rlimits {
			// syscall.Setrlimit, not unix: it also stops Go restoring its
			// saved NOFILE limit in the exec below.
			if err := syscall.Setrlimit(r.Resource, &syscall.Rlimit{Cur: r.Cur, Max: r.Max}); err != nil {
				return fmt.Errorf("rlimit %d: %w", r.Resource, err)
			}
		}
		return nil
	}
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil && 20-prio < req.Nice {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, req.Nice); err != nil {
			return fmt.Errorf("nice: %w", err)
		}
	}
	if req.Drop {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(req.GID, req.GID, req.GID); err != nil {
			return fmt.Errorf("setresgid: %w", err)
		}
		if err := syscall.Setresuid(req.UID, req.UID, req.UID); err != nil {
			return fmt.Errorf("setresuid: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	// setresuid cleared the parent-death signal; re-arm it, then make sure
	// the server did not die in between (we would now belong to init).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("pdeathsig: %w", err)
	}
	if os.Getppid() != req.Parent {
		os.Exit(127)
	}
	if req.Bwrap != "" {
		if err := setRlimits(); err != nil {
			return err
		}
		return fmt.Errorf("exec bwrap: %w", unix.Exec(req.Bwrap, bwrapArgv, req.Env))
	}
	if err := os.Chdir(req.Dir); err != nil {
		return fmt.Errorf("chdir: %w", err)
	}
	if req.LandlockABI > 0 {
		if err := applyLandlock(req.LandlockABI, llRules); err != nil {
			return err
		}
	}
	if err := setRlimits(); err != nil {
		return err
	}
	if req.Seccomp {
		if err := installSeccomp(prog); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	return fmt.Errorf("exec python: %w", unix.Exec(req.Python, pythonArgv, req.Env))
}

// memfd puts data in an inheritable memfd for bwrap (--seccomp, --args),
// which reads it from the start.
func memfd(name string, data []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, 0)
	if err != nil {
		return -1, fmt.Errorf("memfd: %w", err)
	}
	if _, err := unix.Write(fd, data); err != nil {
		return -1, fmt.Errorf("memfd: %w", err)
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return -1, fmt.Errorf("memfd: %w", err)
	}
	return fd, nil
}
