// Package sandboxtest helps tests find the host processes of students'
// programs, which the sandbox shows nothing of the host: under bubblewrap
// a program's command line names only neutral paths, but its mount table
// still names each folder bound into it.
package sandboxtest

import (
	"os"
	"strings"
)

// InFS is how /proc/<pid>/mountinfo names a bind mount of host path p: its
// path inside the file system that holds it (the caller's own mount table
// says where that file system is mounted). A program's mount table names a
// home bound into it this way, whatever the program sees it as.
func InFS(p string) string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	best, root := "", ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		if at := f[4]; (p == at || strings.HasPrefix(p, strings.TrimSuffix(at, "/")+"/")) && len(at) >= len(best) {
			best, root = at, f[3]
		}
	}
	if best == "" {
		return p
	}
	return strings.TrimSuffix(root, "/") + strings.TrimPrefix(p, strings.TrimSuffix(best, "/"))
}
