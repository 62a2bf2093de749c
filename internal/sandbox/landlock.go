package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock is the file layer when bubblewrap is not available: read and
// execute on the system folders, read on course folders, everything on the
// owner's home, nothing else. From ABI 4 it also refuses TCP bind/connect and
// from ABI 6 it stops signals and abstract sockets leaving the sandbox.

// landlockABI returns the kernel's Landlock ABI version, 0 if none.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// rulesetAttr is struct landlock_ruleset_attr up to ABI 6; a shorter size is
// passed to older kernels so they do not see fields they do not know.
type rulesetAttr struct {
	fs, net, scoped uint64
}

type pathBeneath struct {
	allowed uint64
	fd      int32
}

const (
	llRead = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	llFile = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

// fsRights is every filesystem right the ABI knows.
func fsRights(abi int) uint64 {
	r := uint64(unix.LANDLOCK_ACCESS_FS_MAKE_SYM<<1 - 1)
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		r |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return r
}

type landlockRule struct {
	path    string
	rw      bool
	noLinks bool // rw but no symbolic links (Spec.NoLinks)
}

// applyLandlock restricts the calling thread (and what it execs). Paths that
// do not exist are skipped: /lib64 is absent on some systems.
func applyLandlock(abi int, rules []landlockRule) error {
	if abi < 1 {
		return errors.New("landlock unavailable")
	}
	all := fsRights(abi)
	attr := rulesetAttr{fs: all}
	size := unsafe.Sizeof(attr.fs)
	if abi >= 4 {
		attr.net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		size = 16
	}
	if abi >= 6 {
		attr.scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size = 24
	}
	rfd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	defer unix.Close(int(rfd))
	for _, r := range rules {
		fd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if err == unix.ENOENT {
				continue
			}
			return fmt.Errorf("landlock %s: %w", r.path, err)
		}
		var st unix.Stat_t
		unix.Fstat(fd, &st)
		allowed := uint64(llRead)
		if r.rw {
			allowed = all
			if r.noLinks {
				allowed &^= unix.LANDLOCK_ACCESS_FS_MAKE_SYM
			}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			allowed &= llFile // only file rights apply to a file
		}
		pb := pathBeneath{allowed: allowed & all, fd: int32(fd)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rfd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0)
		unix.Close(fd)
		if errno != 0 {
			return fmt.Errorf("landlock rule %s: %w", r.path, errno)
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rfd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

// systemReadOnly are the host folders student code may read and execute
// when Landlock is the file layer.
var systemReadOnly = []string{"/usr", "/lib", "/lib64", "/bin", "/etc", "/proc/self", "/dev/urandom", "/dev/zero"}
