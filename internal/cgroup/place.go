package cgroup

import (
	"path"
	"path/filepath"
	"strings"
)

// Sources of a limit or a usage figure, as /health shows them.
const (
	SourceV2 = "cgroup v2"
	SourceV1 = "cgroup v1"
)

// Place is where a process's cgroup is in each hierarchy, with the mount
// point above it (a limit may be set on any ancestor up to there).
type Place struct {
	V2, V2Top string
	// V2Root: the cgroup is the v2 hierarchy's root, where processes and
	// enabled controllers may live side by side.
	V2Root    bool
	V1, V1Top map[string]string // by controller
}

// Self finds the calling process's cgroups from /proc/self/cgroup and
// /proc/self/mountinfo, honouring mount roots (cgroup namespaces, bind
// mounts). A hierarchy that is not mounted is left out.
func Self(fsys FS) Place {
	p := Place{V1: map[string]string{}, V1Top: map[string]string{}}
	cg, err := fsys.ReadFile("/proc/self/cgroup")
	if err != nil {
		return p
	}
	mi, err := fsys.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return p
	}
	mounts := parseMountinfo(string(mi))
	for _, pc := range parseProcCgroup(string(cg)) {
		for _, m := range mounts {
			if (len(pc.controllers) == 0) != m.v2 {
				continue
			}
			if !m.v2 && !overlaps(pc.controllers, m.controllers) {
				continue
			}
			rel, ok := within(pc.path, m.root)
			if !ok {
				continue
			}
			dir := filepath.Join(m.point, rel)
			if m.v2 {
				if p.V2 == "" {
					p.V2, p.V2Top, p.V2Root = dir, m.point, rel == "/"
				}
				continue
			}
			for _, c := range m.controllers {
				if _, seen := p.V1[c]; !seen {
					p.V1[c], p.V1Top[c] = dir, m.point
				}
			}
		}
	}
	return p
}

// within returns p relative to the mount's root, if the mount shows p.
func within(p, root string) (string, bool) {
	p, root = path.Clean(p), path.Clean(root)
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if strings.HasPrefix(p, root+"/") {
		return strings.TrimPrefix(p, root), true
	}
	return "", false
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// ancestors lists dir and its parents up to top, nearest first.
func ancestors(dir, top string) []string {
	out := []string{dir}
	for dir != top && strings.HasPrefix(dir, top+string(filepath.Separator)) {
		dir = filepath.Dir(dir)
		out = append(out, dir)
	}
	return out
}

// Memory is the cgroup's memory use and limit: the working set (charged
// memory less inactive file cache, which the kernel reclaims before it
// would kill anything) against the tightest limit of the cgroup and its
// ancestors. limit is 0 when none is set; ok is false when neither
// hierarchy tells.
func (p Place) Memory(fsys FS) (used, limit int64, source string, ok bool) {
	if p.V2 != "" {
		if cur, err := fsys.ReadFile(filepath.Join(p.V2, "memory.current")); err == nil {
			for _, dir := range ancestors(p.V2, p.V2Top) {
				if n, ok, _ := parseMemoryLimit(readString(fsys, filepath.Join(dir, "memory.max"))); ok && (limit == 0 || n < limit) {
					limit = n
				}
			}
			if n, err := parseInt(string(cur)); err == nil {
				st := parseKeyed(readString(fsys, filepath.Join(p.V2, "memory.stat")))
				return n - st["inactive_file"], limit, SourceV2, true
			}
		}
	}
	if dir := p.V1["memory"]; dir != "" {
		if cur, err := fsys.ReadFile(filepath.Join(dir, "memory.usage_in_bytes")); err == nil {
			keyed := parseKeyed(readString(fsys, filepath.Join(dir, "memory.stat")))
			// hierarchical_memory_limit is the tightest limit of this group
			// and its ancestors, which the group's own file does not show.
			if h, ok := keyed["hierarchical_memory_limit"]; ok && h > 0 && h < noLimitV1 {
				limit = h
			} else if n, ok, _ := parseMemoryLimit(readString(fsys, filepath.Join(dir, "memory.limit_in_bytes"))); ok {
				limit = n
			}
			if n, err := parseInt(string(cur)); err == nil {
				return n - keyed["total_inactive_file"], limit, SourceV1, true
			}
		}
	}
	return 0, 0, "", false
}

// CPULimit is the tightest of the CPU quotas and cpusets of the cgroup and
// its ancestors, below machine (the machine's CPUs), with where it was
// found ("" when nothing is tighter than the machine).
func (p Place) CPULimit(fsys FS, machine float64) (cores float64, source string) {
	cores = machine
	tighter := func(c float64, src string) {
		if c > 0 && c < cores {
			cores, source = c, src
		}
	}
	if p.V2 != "" {
		for _, dir := range ancestors(p.V2, p.V2Top) {
			if s, err := fsys.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
				if c, ok, _ := parseCPUMax(string(s)); ok {
					tighter(c, SourceV2)
				}
			}
		}
		if s, err := fsys.ReadFile(filepath.Join(p.V2, "cpuset.cpus.effective")); err == nil {
			if n, err := parseCPUList(string(s)); err == nil {
				tighter(float64(n), SourceV2)
			}
		}
	}
	if dir := p.V1["cpu"]; dir != "" {
		for _, a := range ancestors(dir, p.V1Top["cpu"]) {
			q, qerr := fsys.ReadFile(filepath.Join(a, "cpu.cfs_quota_us"))
			per, perr := fsys.ReadFile(filepath.Join(a, "cpu.cfs_period_us"))
			if qerr == nil && perr == nil {
				if c, ok, _ := parseCFSQuota(string(q), string(per)); ok {
					tighter(c, SourceV1)
				}
			}
		}
	}
	if dir := p.V1["cpuset"]; dir != "" {
		for _, name := range []string{"cpuset.effective_cpus", "cpuset.cpus"} {
			if s, err := fsys.ReadFile(filepath.Join(dir, name)); err == nil {
				if n, err := parseCPUList(string(s)); err == nil && n > 0 {
					tighter(float64(n), SourceV1)
					break
				}
			}
		}
	}
	return cores, source
}

// CPUSeconds is the cumulative CPU time of the cgroup, from the hierarchy
// named by prefer (SourceV1 or SourceV2) when it has it.
func (p Place) CPUSeconds(fsys FS, prefer string) (float64, bool) {
	v2 := func() (float64, bool) {
		if p.V2 == "" {
			return 0, false
		}
		s, err := fsys.ReadFile(filepath.Join(p.V2, "cpu.stat"))
		if err != nil {
			return 0, false
		}
		us, ok := parseKeyed(string(s))["usage_usec"]
		return float64(us) / 1e6, ok
	}
	v1 := func() (float64, bool) {
		dir := p.V1["cpuacct"]
		if dir == "" {
			return 0, false
		}
		s, err := fsys.ReadFile(filepath.Join(dir, "cpuacct.usage"))
		if err != nil {
			return 0, false
		}
		ns, err := parseInt(string(s))
		return float64(ns) / 1e9, err == nil
	}
	if prefer == SourceV1 {
		if s, ok := v1(); ok {
			return s, true
		}
		return v2()
	}
	if s, ok := v2(); ok {
		return s, true
	}
	return v1()
}
