package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Staging lets programs see folders whose parents the sandbox uid cannot
// enter: a data folder under root's home, or in a mktemp -d folder (0700).
// bubblewrap runs after the uid drop and resolves every source path itself,
// so it cannot reach such a folder, not even through a descriptor (--bind-fd
// resolves the descriptor's path). So the helper is started in a user and
// mount namespace of its own (stagedStart), mapping every uid to itself,
// where it is still root and may mount; it mounts a small tmpfs on the stage
// folder (an empty folder the server made in the temporary folder,
// searchable by everyone) and binds each mount's host folder onto stage/<i>
// there; then it drops to the sandbox uid and bwrap, started from that
// namespace, finds them at paths it can walk. A user namespace rather than a
// plain mount namespace, because mounting in the host's user namespace needs
// CAP_SYS_ADMIN, which a server cut down to a few capabilities (the systemd
// unit) does not have; bwrap needs user namespaces anyway. The host's mount
// table is never changed: everything is in the helper's namespace and goes
// with it.

// newStage makes the empty folder the helpers mount their tmpfs on.
func newStage() (string, error) {
	dir, err := os.MkdirTemp("", "pythonide-mnt-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// stagedSources are where bwrap finds the mounts once staged.
func stagedSources(stage string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = filepath.Join(stage, strconv.Itoa(i))
	}
	return out
}

// stagedStart makes cmd start in a user and mount namespace of its own in
// which every uid and gid is itself (so files keep their owners, and the
// helper stays root there until it drops to the sandbox uid).
func stagedStart(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= unix.CLONE_NEWUSER | unix.CLONE_NEWNS
	all := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
	attr.UidMappings, attr.GidMappings = all, all
	attr.GidMappingsEnableSetgroups = true
}

// stageMounts runs in the helper, root in its own namespaces (stagedStart),
// before the uid drop. Each host folder is opened without following a final
// symlink and bound from its descriptor, so what is staged is the folder the
// server named.
func stageMounts(stage string, hosts []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("stage: private mounts: %w", err)
	}
	if err := unix.Mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("stage: tmpfs: %w", err)
	}
	for i, host := range hosts {
		dst := filepath.Join(stage, strconv.Itoa(i))
		if err := unix.Mkdir(dst, 0o755); err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		fd, err := unix.Open(host, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("stage: open %s: %w", host, err)
		}
		err = unix.Mount("/proc/self/fd/"+strconv.Itoa(fd), dst, "", unix.MS_BIND, "")
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("stage: bind %s: %w", host, err)
		}
	}
	return nil
}
