package monitor

import (
	"errors"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/cgroup"
)

// Sources of a CPU or memory figure, as shown in /health.
const (
	SourceCgroupV2 = cgroup.SourceV2
	SourceCgroupV1 = cgroup.SourceV1
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
	fs  cgroup.FS // "/" on a real machine; a fixture tree in tests
	now func() time.Time

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
	return &Resources{fs: cgroup.Root(root), now: now}
}

func (r *Resources) read(p string) (string, error) {
	b, err := r.fs.ReadFile(p)
	return string(b), err
}

// Read takes a reading. Only a machine with neither cgroup files nor /proc
// gives an error.
func (r *Resources) Read() (Usage, error) {
	d := cgroup.Self(r.fs)
	u := Usage{At: r.now()}
	memErr := r.readMemory(d, &u)
	cpuErr := r.readCPU(d, &u)
	return u, errors.Join(memErr, cpuErr)
}

func (r *Resources) readMemory(d cgroup.Place, u *Usage) error {
	hostTotal, hostAvail, hostErr := r.hostMemory()
	used, limit, source, _ := d.Memory(r.fs)
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
	s, err := r.read("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	return parseMeminfo(s)
}

func (r *Resources) readCPU(d cgroup.Place, u *Usage) error {
	st, err := r.read("/proc/stat")
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
	cores, source := d.CPULimit(r.fs, float64(hostCPUs))
	cur := cpuReading{source: source, at: u.At, busy: busy, total: total}
	if source != "" {
		secs, ok := d.CPUSeconds(r.fs, source)
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
