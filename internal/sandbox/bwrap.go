package sandbox

import (
	"os"
	"path/filepath"
	"sort"
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

// bwrapOptions builds bubblewrap's options (everything before "--" and the
// command); the helper hands them to bwrap through a file descriptor
// (--args), so bwrap's command line shows none of them. sources[i] is where
// the helper finds spec.Mounts[i] when bwrap starts: the host path itself,
// or its staged copy (stage.go).
//
// What the program sees: /usr (and the merged-/usr links), a few files of
// /etc, a private /dev and /tmp, and the mounts at their neutral paths. No
// /proc: the program is alone in its pid namespace anyway, and a procfs
// would show every mount's host path in /proc/self/mountinfo.
func bwrapOptions(spec Spec, sources []string) []string {
	a := []string{
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
	a = append(a, "--dev", "/dev", "--tmpfs", "/tmp")
	// A mount inside another one must come after it.
	order := make([]int, len(spec.Mounts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return len(spec.Mounts[order[i]].At) < len(spec.Mounts[order[j]].At) })
	for _, i := range order {
		m := spec.Mounts[i]
		op := "--ro-bind"
		if m.Write {
			op = "--bind"
		}
		a = append(a, op, sources[i], m.At)
	}
	return append(a, "--chdir", spec.Dir)
}
