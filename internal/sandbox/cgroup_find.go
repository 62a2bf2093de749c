package sandbox

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupMounts is where the cgroup hierarchies are and where the server sits
// in each: our subtree is created below the server's own cgroup, so student
// processes stay inside whatever limits the host put on the server.
type cgroupMounts struct {
	v2     string            // the server's own cgroup dir in the v2 hierarchy, "" if none
	v1     map[string]string // controller -> the server's own cgroup dir in v1
	v2Root bool              // the v2 own cgroup is the hierarchy's root (no-internal-process rule does not apply)
}

// v1Controllers are the v1 controllers we use when v2 has none.
var v1Controllers = []string{"memory", "pids", "freezer", "cpuacct"}

func findCgroups(base string) cgroupMounts {
	m := cgroupMounts{v1: map[string]string{}}
	own := ownCgroups()
	for _, dir := range []string{base, filepath.Join(base, "unified")} {
		if isFS(dir, unix.CGROUP2_SUPER_MAGIC) {
			p, ok := own[""]
			if ok {
				m.v2 = filepath.Join(dir, p)
				m.v2Root = p == "/"
			}
			break
		}
	}
	for _, c := range v1Controllers {
		dir := filepath.Join(base, c)
		p, ok := own[c]
		if ok && isFS(dir, unix.CGROUP_SUPER_MAGIC) {
			m.v1[c] = filepath.Join(dir, p)
		}
	}
	return m
}

// ownCgroups parses /proc/self/cgroup: controller -> path ("" is v2).
func ownCgroups() map[string]string {
	out := map[string]string{}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	return int64(st.Type) == magic
}
