package monitor

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixture writes a fake machine (proc and cgroup files) under a temp root.
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func write(t *testing.T, root, p, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	meminfo8G = "MemTotal:        8388608 kB\nMemFree:  1000 kB\nMemAvailable:    6291456 kB\n"
	stat4CPU  = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\ncpu2 1 0 0 0 0 0 0 0 0 0\ncpu3 1 0 0 0 0 0 0 0 0 0\nintr 1\n"
	mountV2   = "30 22 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
)

const MiB = 1 << 20

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

func TestResourcesCgroupV2Container(t *testing.T) {
	root := fixture(t, map[string]string{
		"proc/self/cgroup":                    "0::/\n",
		"proc/self/mountinfo":                 mountV2,
		"proc/meminfo":                        meminfo8G,
		"proc/stat":                           stat4CPU,
		"sys/fs/cgroup/cpu.max":               "150000 100000\n",
		"sys/fs/cgroup/cpu.stat":              "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n",
		"sys/fs/cgroup/memory.max":            "1073741824\n",
		"sys/fs/cgroup/memory.current":        "629145600\n",
		"sys/fs/cgroup/memory.stat":           "anon 400000000\nfile 200000000\ninactive_file 104857600\nactive_file 1\n",
		"sys/fs/cgroup/cpuset.cpus.effective": "0-3\n",
	})
	c := &clock{time.Unix(1000, 0)}
	r := NewResources(root, c.now)
	u, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.MemorySource != SourceCgroupV2 || u.MemoryLimit != 1<<30 || u.MemoryUsed != 500*MiB || !near(u.MemoryPercent, 48.828) {
		t.Errorf("memory: %+v", u)
	}
	if u.CPUSource != SourceCgroupV2 || u.CPUCores != 1.5 || u.CPUKnown {
		t.Errorf("cpu (first reading): %+v", u)
	}
	// 2 s later the cgroup has used 1.2 more CPU seconds out of 1.5 cores × 2 s.
	c.t = c.t.Add(2 * time.Second)
	write(t, root, "sys/fs/cgroup/cpu.stat", "usage_usec 6200000\n")
	u, err = r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !u.CPUKnown || !near(u.CPUPercent, 40) {
		t.Errorf("cpu percent: want 40, got %+v", u)
	}
}

func TestResourcesV2LimitOnAncestor(t *testing.T) {
	// An ECS task: the limit is on the task's cgroup, the server is in a
	// child; a cpuset narrower than the quota wins.
	root := fixture(t, map[string]string{
		"proc/self/cgroup":                                "0::/ecs/task/c1\n",
		"proc/self/mountinfo":                             mountV2,
		"proc/meminfo":                                    meminfo8G,
		"proc/stat":                                       stat4CPU,
		"sys/fs/cgroup/ecs/task/memory.max":               "2147483648\n",
		"sys/fs/cgroup/ecs/task/cpu.max":                  "400000 100000\n",
		"sys/fs/cgroup/ecs/task/c1/memory.max":            "max\n",
		"sys/fs/cgroup/ecs/task/c1/cpu.max":               "max 100000\n",
		"sys/fs/cgroup/ecs/task/c1/memory.current":        "1073741824\n",
		"sys/fs/cgroup/ecs/task/c1/memory.stat":           "inactive_file 0\n",
		"sys/fs/cgroup/ecs/task/c1/cpu.stat":              "usage_usec 1\n",
		"sys/fs/cgroup/ecs/task/c1/cpuset.cpus.effective": "0-1\n",
	})
	u, err := NewResources(root, nil).Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.MemoryLimit != 2<<30 || u.MemoryPercent != 50 || u.MemorySource != SourceCgroupV2 {
		t.Errorf("memory: %+v", u)
	}
	if u.CPUCores != 2 || u.CPUSource != SourceCgroupV2 {
		t.Errorf("cpu: %+v", u)
	}
}

func TestResourcesCgroupV1Docker(t *testing.T) {
	// Docker without a cgroup namespace: /proc/self/cgroup shows the host
	// path and each mount's root is that same path.
	root := fixture(t, map[string]string{
		"proc/self/cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:cpuset:/docker/abc\n1:name=systemd:/docker/abc\n",
		"proc/self/mountinfo": "" +
			"25 24 0:22 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n" +
			"26 24 0:23 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n" +
			"27 24 0:24 /docker/abc /sys/fs/cgroup/cpuset ro - cgroup cgroup rw,cpuset\n" +
			"28 24 0:25 /docker/abc /sys/fs/cgroup/systemd ro - cgroup cgroup rw,xattr,name=systemd\n",
		"proc/meminfo": meminfo8G,
		"proc/stat":    stat4CPU,
		"sys/fs/cgroup/memory/memory.usage_in_bytes":  "943718400\n",
		"sys/fs/cgroup/memory/memory.limit_in_bytes":  "9223372036854771712\n",
		"sys/fs/cgroup/memory/memory.stat":            "cache 1\ntotal_inactive_file 104857600\nhierarchical_memory_limit 1073741824\n",
		"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "200000\n",
		"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
		"sys/fs/cgroup/cpu,cpuacct/cpuacct.usage":     "10000000000\n",
		"sys/fs/cgroup/cpuset/cpuset.cpus":            "0-3\n",
	})
	c := &clock{time.Unix(1000, 0)}
	r := NewResources(root, c.now)
	u, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.MemorySource != SourceCgroupV1 || u.MemoryLimit != 1<<30 || u.MemoryUsed != 800*MiB {
		t.Errorf("memory: %+v", u)
	}
	if u.CPUSource != SourceCgroupV1 || u.CPUCores != 2 {
		t.Errorf("cpu: %+v", u)
	}
	c.t = c.t.Add(10 * time.Second)
	write(t, root, "sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", "25000000000\n") // +15 s of 2 cores × 10 s
	if u, _ = r.Read(); !u.CPUKnown || !near(u.CPUPercent, 75) {
		t.Errorf("cpu percent: want 75, got %+v", u)
	}
}

func TestResourcesHostFallbackWithoutLimits(t *testing.T) {
	// This machine's layout: v1 controllers with no limit and a v2
	// "unified" mount without controllers. Both figures come from /proc.
	root := fixture(t, map[string]string{
		"proc/self/cgroup": "4:memory:/process_api/x\n2:cpuacct:/\n1:cpu:/\n0::/\n",
		"proc/self/mountinfo": "" +
			"31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n" +
			"32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n" +
			"34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
			"40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
		"proc/meminfo": meminfo8G,
		"proc/stat":    stat4CPU,
		"sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes": "5234688\n",
		"sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "9223372036854771712\n",
		"sys/fs/cgroup/memory/process_api/x/memory.stat":           "hierarchical_memory_limit 9223372036854771712\n",
		"sys/fs/cgroup/cpu/cpu.cfs_quota_us":                       "-1\n",
		"sys/fs/cgroup/cpu/cpu.cfs_period_us":                      "100000\n",
		"sys/fs/cgroup/cpuacct/cpuacct.usage":                      "1347466157119\n",
		"sys/fs/cgroup/unified/cpu.stat":                           "usage_usec 1\n",
	})
	r := NewResources(root, nil)
	u, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.MemorySource != SourceHost || u.MemoryLimit != 8<<30 || u.MemoryUsed != 2<<30 || u.MemoryPercent != 25 {
		t.Errorf("memory: %+v", u)
	}
	if u.CPUSource != SourceHost || u.CPUCores != 4 {
		t.Errorf("cpu: %+v", u)
	}
	// 300 more jiffies of which 240 busy: 80 %.
	write(t, root, "proc/stat", "cpu  300 0 140 760 100 0 0 0 0 0\ncpu0 1\ncpu1 1\ncpu2 1\ncpu3 1\n")
	if u, _ = r.Read(); !u.CPUKnown || !near(u.CPUPercent, 80) {
		t.Errorf("host cpu percent: want 80, got %+v", u)
	}
}

func TestResourcesLimitAboveMachineIsNoLimit(t *testing.T) {
	root := fixture(t, map[string]string{
		"proc/self/cgroup":             "0::/\n",
		"proc/self/mountinfo":          mountV2,
		"proc/meminfo":                 meminfo8G,
		"proc/stat":                    stat4CPU,
		"sys/fs/cgroup/memory.max":     "68719476736\n", // 64 GiB on an 8 GiB machine
		"sys/fs/cgroup/memory.current": "1\n",
	})
	u, err := NewResources(root, nil).Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.MemorySource != SourceHost || u.MemoryLimit != 8<<30 {
		t.Errorf("memory: %+v", u)
	}
}

func TestResourcesNothingToRead(t *testing.T) {
	if _, err := NewResources(t.TempDir(), nil).Read(); err == nil {
		t.Fatal("want an error on a machine without /proc")
	}
}

// TestResourcesThisMachine reads the real files: whatever the layout, the
// figures must be sane.
func TestResourcesThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc/self/cgroup on this machine")
	}
	r := NewResources("/", nil)
	u, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if u, err = r.Read(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", u)
	if u.MemoryLimit <= 0 || u.MemoryUsed <= 0 || u.MemoryPercent <= 0 || u.MemoryPercent > 100 {
		t.Errorf("memory figures: %+v", u)
	}
	if u.CPUCores <= 0 || u.CPUPercent < 0 || u.MemorySource == "" || u.CPUSource == "" {
		t.Errorf("cpu figures: %+v", u)
	}
}

func TestHostParsers(t *testing.T) {
	if _, _, err := parseMeminfo("MemTotal: 5 kB\n"); err == nil {
		t.Error("parseMeminfo accepted a file without MemAvailable")
	}
	busy, total, cpus, err := parseProcStat("cpu  10 1 5 80 4 0 0 0 3 0\ncpu0 x\n")
	if err != nil || busy != 16 || total != 100 || cpus != 1 {
		t.Errorf("parseProcStat = %d %d %d %v", busy, total, cpus, err)
	}
}
