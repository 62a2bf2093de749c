package monitor

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Sources of a CPU or memory figure, as shown in /health.
const (
	SourceCgroupV2 = "cgroup v2"
	SourceCgroupV1 = "cgroup v1"
	SourceHost     = "host" // no limit on the server's cgroup: the machine's /proc figures
)

// Usage is the server's CPU and memory, measured against what it may use.
// The server's cgroup holds the students' processes too (the sandbox puts
// them below it), so these figures cover the whole service.
type Usage struct {
	At time.Time

	CPUPercent float64 // of CPUCores, averaged since the previous reading
	CPUKnown   bool    // false on the first reading: a percentage needs two
	CPUCores   float64 // cores the server may use: its quota, its cpuset, or the machine's
	CPUSource  string

	// MemoryUsed is the working set: charged memory less inactive file
	// cache, which the kernel reclaims before it would kill anything (the
	// figure ECS and Kubernetes use too). Counting cache made the old
	// system's monitor see a full machine after a backup read every file.
	MemoryUsed    int64
	MemoryLimit   int64
	MemoryPercent float64
	MemorySource  string
}

// Resources reads Usage the container-aware way: the limits and usage of
// the server's own cgroup (v2, or v1 controllers), falling back to the
// machine's /proc figures only where the cgroup sets no limit. It keeps the
// previous CPU reading to turn cumulative time into a percentage.
type Resources struct {
	root string // "/" on a real machine; a fixture tree in tests
	now  func() time.Time

	mu   sync.Mutex
	prev cpuReading
}

type cpuReading struct {
	source  string
	at      time.Time
	seconds float64 // cgroup: cumulative CPU seconds
	busy    uint64  // host: jiffies
	total   uint64
}

// NewResources reads below root ("/" in production). now may be nil.
func NewResources(root string, now func() time.Time) *Resources {
	if now == nil {
		now = time.Now
	}
	return &Resources{root: root, now: now}
}

// cgroupDirs is where the server's own cgroup is in each hierarchy, with the
// mount point above it (limits may be set on an ancestor up to there).
type cgroupDirs struct {
	v2, v2Top string
	v1, v1Top map[string]string // by controller
}

func (r *Resources) file(p string) string { return filepath.Join(r.root, p) }

func (r *Resources) read(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// locate finds the server's cgroup directories from /proc/self/cgroup and
// /proc/self/mountinfo, honouring mount roots (cgroup namespaces, bind mounts).
func (r *Resources) locate() cgroupDirs {
	d := cgroupDirs{v1: map[string]string{}, v1Top: map[string]string{}}
	cg, err := r.read(r.file("/proc/self/cgroup"))
	if err != nil {
		return d
	}
	mi, err := r.read(r.file("/proc/self/mountinfo"))
	if err != nil {
		return d
	}
	mounts := parseMountinfo(mi)
	for _, pc := range parseProcCgroup(cg) {
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
			top := r.file(m.point)
			dir := filepath.Join(top, rel)
			if m.v2 {
				if d.v2 == "" {
					d.v2, d.v2Top = dir, top
				}
				continue
			}
			for _, c := range m.controllers {
				if _, seen := d.v1[c]; !seen {
					d.v1[c], d.v1Top[c] = dir, top
				}
			}
		}
	}
	return d
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

// Read takes a reading. Only a machine with neither cgroup files nor /proc
// gives an error.
func (r *Resources) Read() (Usage, error) {
	d := r.locate()
	u := Usage{At: r.now()}
	memErr := r.readMemory(d, &u)
	cpuErr := r.readCPU(d, &u)
	return u, errors.Join(memErr, cpuErr)
}

func (r *Resources) readMemory(d cgroupDirs, u *Usage) error {
	hostTotal, hostAvail, hostErr := r.hostMemory()
	limit, used, source := int64(0), int64(0), ""
	if d.v2 != "" {
		if cur, err := r.read(filepath.Join(d.v2, "memory.current")); err == nil {
			for _, dir := range ancestors(d.v2, d.v2Top) {
				if s, err := r.read(filepath.Join(dir, "memory.max")); err == nil {
					if n, ok, _ := parseMemoryLimit(s); ok && (limit == 0 || n < limit) {
						limit = n
					}
				}
			}
			if n, err := parseInt(cur); err == nil {
				st, _ := r.read(filepath.Join(d.v2, "memory.stat"))
				used, source = n-parseKeyed(st)["inactive_file"], SourceCgroupV2
			}
		}
	}
	if source == "" && d.v1["memory"] != "" {
		dir := d.v1["memory"]
		if cur, err := r.read(filepath.Join(dir, "memory.usage_in_bytes")); err == nil {
			st, _ := r.read(filepath.Join(dir, "memory.stat"))
			keyed := parseKeyed(st)
			// hierarchical_memory_limit is the tightest limit of this group
			// and its ancestors, which the group's own file does not show.
			if h, ok := keyed["hierarchical_memory_limit"]; ok && h > 0 && h < noLimitV1 {
				limit = h
			} else if s, err := r.read(filepath.Join(dir, "memory.limit_in_bytes")); err == nil {
				if n, ok, _ := parseMemoryLimit(s); ok {
					limit = n
				}
			}
			if n, err := parseInt(cur); err == nil {
				used, source = n-keyed["total_inactive_file"], SourceCgroupV1
			}
		}
	}
	// A limit above the machine's memory is no limit: the machine runs out first.
	if hostErr == nil && limit >= hostTotal {
		limit = 0
	}
	if limit == 0 || source == "" {
		if hostErr != nil {
			return hostErr
		}
		limit, used, source = hostTotal, hostTotal-hostAvail, SourceHost
	}
	u.MemoryUsed, u.MemoryLimit, u.MemorySource = max(used, 0), limit, source
	u.MemoryPercent = 100 * float64(u.MemoryUsed) / float64(limit)
	return nil
}

func (r *Resources) hostMemory() (total, avail int64, err error) {
	s, err := r.read(r.file("/proc/meminfo"))
	if err != nil {
		return 0, 0, err
	}
	return parseMeminfo(s)
}

// cpuLimit is the tightest of the quota and the cpuset, with where it was found.
func (r *Resources) cpuLimit(d cgroupDirs, hostCPUs int) (cores float64, source string) {
	cores = float64(hostCPUs)
	tighter := func(c float64, src string) {
		if c > 0 && c < cores {
			cores, source = c, src
		}
	}
	if d.v2 != "" {
		for _, dir := range ancestors(d.v2, d.v2Top) {
			if s, err := r.read(filepath.Join(dir, "cpu.max")); err == nil {
				if c, ok, _ := parseCPUMax(s); ok {
					tighter(c, SourceCgroupV2)
				}
			}
		}
		if s, err := r.read(filepath.Join(d.v2, "cpuset.cpus.effective")); err == nil {
			if n, err := parseCPUList(s); err == nil {
				tighter(float64(n), SourceCgroupV2)
			}
		}
	}
	if dir := d.v1["cpu"]; dir != "" {
		for _, a := range ancestors(dir, d.v1Top["cpu"]) {
			q, qerr := r.read(filepath.Join(a, "cpu.cfs_quota_us"))
			p, perr := r.read(filepath.Join(a, "cpu.cfs_period_us"))
			if qerr == nil && perr == nil {
				if c, ok, _ := parseCFSQuota(q, p); ok {
					tighter(c, SourceCgroupV1)
				}
			}
		}
	}
	if dir := d.v1["cpuset"]; dir != "" {
		for _, name := range []string{"cpuset.effective_cpus", "cpuset.cpus"} {
			if s, err := r.read(filepath.Join(dir, name)); err == nil {
				if n, err := parseCPUList(s); err == nil && n > 0 {
					tighter(float64(n), SourceCgroupV1)
					break
				}
			}
		}
	}
	return cores, source
}

// cgroupCPUSeconds is the cumulative CPU time of the server's cgroup,
// preferring the hierarchy the limit came from.
func (r *Resources) cgroupCPUSeconds(d cgroupDirs, source string) (float64, bool) {
	v2 := func() (float64, bool) {
		if d.v2 == "" {
			return 0, false
		}
		s, err := r.read(filepath.Join(d.v2, "cpu.stat"))
		if err != nil {
			return 0, false
		}
		us, ok := parseKeyed(s)["usage_usec"]
		return float64(us) / 1e6, ok
	}
	v1 := func() (float64, bool) {
		dir := d.v1["cpuacct"]
		if dir == "" {
			return 0, false
		}
		s, err := r.read(filepath.Join(dir, "cpuacct.usage"))
		if err != nil {
			return 0, false
		}
		ns, err := parseInt(s)
		return float64(ns) / 1e9, err == nil
	}
	if source == SourceCgroupV1 {
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

func (r *Resources) readCPU(d cgroupDirs, u *Usage) error {
	st, err := r.read(r.file("/proc/stat"))
	if err != nil {
		return err
	}
	busy, total, hostCPUs, err := parseProcStat(st)
	if err != nil {
		return err
	}
	if hostCPUs == 0 {
		hostCPUs = 1
	}
	cores, source := r.cpuLimit(d, hostCPUs)
	cur := cpuReading{source: source, at: u.At, busy: busy, total: total}
	if source != "" {
		secs, ok := r.cgroupCPUSeconds(d, source)
		if !ok {
			cores, source = float64(hostCPUs), ""
			cur.source = ""
		}
		cur.seconds = secs
	}
	if source == "" {
		source, cur.source = SourceHost, SourceHost
	}
	u.CPUCores, u.CPUSource = cores, source

	r.mu.Lock()
	prev := r.prev
	r.prev = cur
	r.mu.Unlock()
	if prev.source != cur.source || prev.at.IsZero() {
		return nil
	}
	switch source {
	case SourceHost:
		if cur.total > prev.total && cur.busy >= prev.busy {
			u.CPUPercent, u.CPUKnown = 100*float64(cur.busy-prev.busy)/float64(cur.total-prev.total), true
		}
	default:
		if wall := cur.at.Sub(prev.at).Seconds(); wall > 0 && cur.seconds >= prev.seconds {
			u.CPUPercent, u.CPUKnown = 100*(cur.seconds-prev.seconds)/(wall*cores), true
		}
	}
	return nil
}
