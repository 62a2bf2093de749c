package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Config is the mechanism's configuration, built once at start-up.
type Config struct {
	Python       string // absolute interpreter; never the PATH shim
	Bwrap        string // absolute bubblewrap path; default /usr/bin/bwrap
	NoNamespaces bool   // do not use bubblewrap even if present (tests, operators)
	MemoryBytes  int64  // per process (cgroup memory, else RLIMIT_DATA)
	TotalMemory  int64  // limit of the parent cgroup holding every student process
	CPUSeconds   int    // RLIMIT_CPU soft limit; the hard limit is one second later
	MaxProcs     int    // pids.max of each process's cgroup (threads count)
	MaxFileBytes int64  // RLIMIT_FSIZE
	MaxOpenFiles int    // RLIMIT_NOFILE; below ~5 the interpreter cannot start
	UID, GID     int    // unprivileged identity the student code runs as
	// AllowUnconfined lets the server run student code with only layer 0
	// (rlimits, clean env, own session) when no file isolation exists. Loud.
	AllowUnconfined bool
	// CgroupName names the folder below the server's own cgroup that holds
	// each instance's subtree (cgroup.go); instances on one host may share it.
	CgroupName string
	// StudentsCPUMax caps the CPU every student program together may use,
	// in cores (0: no cap beyond the server's priority over them).
	StudentsCPUMax float64
}

// Defaults, chosen from shared/SANDBOX.md measurements.
const (
	DefaultPython       = "/usr/bin/python3"
	DefaultBwrap        = "/usr/bin/bwrap"
	DefaultMemoryBytes  = 50 << 20
	DefaultTotalMemory  = 3 << 30
	DefaultCPUSeconds   = 300 // a backstop only: wall-clock is enforced by the runner
	DefaultMaxProcs     = 32
	DefaultMaxFileBytes = 10 << 20
	DefaultMaxOpenFiles = 256
	DefaultUID          = 65534
	DefaultCgroupName   = "pythonide"
)

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Python == "" {
		c.Python = DefaultPython
	}
	if c.Bwrap == "" {
		c.Bwrap = DefaultBwrap
	}
	if c.MemoryBytes == 0 {
		c.MemoryBytes = DefaultMemoryBytes
	}
	if c.TotalMemory == 0 {
		c.TotalMemory = DefaultTotalMemory
	}
	if c.CPUSeconds == 0 {
		c.CPUSeconds = DefaultCPUSeconds
	}
	if c.MaxProcs == 0 {
		c.MaxProcs = DefaultMaxProcs
	}
	if c.MaxFileBytes == 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if c.UID == 0 {
		c.UID = DefaultUID
	}
	if c.GID == 0 {
		c.GID = DefaultUID
	}
	if c.CgroupName == "" {
		c.CgroupName = DefaultCgroupName
	}
	var errs []error
	if !filepath.IsAbs(c.Python) {
		errs = append(errs, fmt.Errorf("python %q must be an absolute path", c.Python))
	}
	if !filepath.IsAbs(c.Bwrap) {
		errs = append(errs, fmt.Errorf("bwrap %q must be an absolute path", c.Bwrap))
	}
	if c.MemoryBytes < 8<<20 || c.TotalMemory < c.MemoryBytes {
		errs = append(errs, fmt.Errorf("memory %d per process / %d total is too small", c.MemoryBytes, c.TotalMemory))
	}
	if c.CPUSeconds < 1 || c.MaxProcs < 2 || c.MaxFileBytes < 1 || c.MaxOpenFiles < 16 {
		errs = append(errs, errors.New("cpu seconds, max procs, max file bytes and max open files must be positive (open files >= 16)"))
	}
	if c.UID < 0 || c.GID < 0 {
		errs = append(errs, errors.New("uid and gid must not be negative"))
	}
	if !validName(c.CgroupName) {
		errs = append(errs, fmt.Errorf("cgroup name %q must be letters, digits, '-', '_' or '.'", c.CgroupName))
	}
	return c, errors.Join(errs...)
}

// validName accepts names safe as one path component (cgroup and process ids).
func validName(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}
