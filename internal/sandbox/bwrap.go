package sandbox

import (
	"os"
	"path/filepath"
)

// etcFiles is the minimal /etc a Python program needs: the loader cache,
// time zone, Debian's python config (sitecustomize lives there), the
// alternatives links numpy's BLAS goes through, and the user database so
// getpass and pwd work. Nothing secret: shadow, the server's config and
// credentials stay outside.
var etcFiles = []string{
	"/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives", "/etc/passwd", "/etc/group",
	"/etc/nsswitch.conf", "/etc/mime.types", "/etc/matplotlibrc", "/etc/fonts",
}

// bwrapArgs builds the bubblewrap command line up to the command itself (the
// helper appends --seccomp and the interpreter). Paths keep their host names
// inside so the caller's arguments and tracebacks need no translation.
func bwrapArgs(bwrap string, spec Spec) []string {
	a := []string{bwrap,
		"--unshare-all", "--unshare-user", "--disable-userns",
		"--die-with-parent", "--new-session", "--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr",
	}
	// On merged-/usr systems /bin, /lib… are symlinks into /usr.
	for _, p := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(p); err == nil {
				a = append(a, "--symlink", t, p)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", p, p)
		}
	}
	etc := append([]string(nil), etcFiles...)
	py, _ := filepath.Glob("/etc/python3*")
	for _, p := range append(etc, py...) {
		a = append(a, "--ro-bind-try", p, p)
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"--bind", spec.Home, spec.Home)
	for _, ro := range spec.ReadOnly {
		a = append(a, "--ro-bind", ro, ro)
	}
	return append(a, "--chdir", spec.Dir)
}
