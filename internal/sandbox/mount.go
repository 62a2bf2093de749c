package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Mount is a host folder a program sees. With namespaces the program sees it
// at At, a neutral path such as /home/student, and nothing of the host path
// above it; without namespaces (Landlock alone) nothing can be moved, so At
// must be Host itself (see Sandbox.Remaps).
type Mount struct {
	Host  string // absolute host path of a folder
	At    string // absolute path where the program sees it
	Write bool   // read-write (the owner's home); every other mount is read-only
}

// reservedAt are the places of the sandbox's own file system that a mount
// may neither cover nor sit inside.
var reservedAt = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc", "/tmp", "/sys"}

// checkMounts validates a spec's mounts and working directory: remaps says
// whether At may differ from Host.
func checkMounts(mounts []Mount, dir string, remaps bool) error {
	var errs []error
	clean := func(what, p string) bool {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
			errs = append(errs, fmt.Errorf("sandbox: %s %q must be absolute and clean", what, p))
			return false
		}
		return true
	}
	if len(mounts) == 0 {
		errs = append(errs, errors.New("sandbox: a process needs at least one mount (its home)"))
	}
	seen := map[string]bool{}
	inside := false
	for _, m := range mounts {
		if !clean("mount", m.Host) || !clean("mount point", m.At) {
			continue
		}
		switch {
		case m.At == "/":
			errs = append(errs, errors.New("sandbox: nothing may be mounted over the whole file system"))
		case seen[m.At]:
			errs = append(errs, fmt.Errorf("sandbox: two mounts at %q", m.At))
		case !remaps && m.At != m.Host:
			errs = append(errs, fmt.Errorf("sandbox: %q cannot be shown at %q without namespaces", m.Host, m.At))
		case remaps && reserved(m.At):
			errs = append(errs, fmt.Errorf("sandbox: %q is part of the sandbox's own system folders", m.At))
		}
		seen[m.At] = true
		if within(dir, m.At) {
			inside = true
		}
	}
	if clean("working directory", dir) && !inside {
		errs = append(errs, fmt.Errorf("sandbox: working directory %q is in no mount", dir))
	}
	return errors.Join(errs...)
}

func reserved(at string) bool {
	for _, r := range reservedAt {
		if within(at, r) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// Remaps reports whether mounts may be shown at a path other than their
// host path (bubblewrap's mount namespace is active).
func (s *Sandbox) Remaps() bool { return s.layers.Namespaces }
