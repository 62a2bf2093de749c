package cgroup

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The parsers below take the text of one kernel file, so each can be tested
// on a fixture without a kernel. They say "no limit" with ok=false rather
// than with a magic number.

// fieldValue reads "key value" lines (memory.events, cpu.stat, oom_control); -1 if absent.
func fieldValue(fsys FS, name, key string) int64 {
	if v, ok := parseKeyed(readString(fsys, name))[key]; ok {
		return v
	}
	return -1
}

// noLimitV1 is where cgroup v1 memory limits start to mean "unlimited": the
// kernel writes PAGE_COUNTER_MAX rounded to pages (9223372036854771712 with
// 4 KiB pages), and any value this large is no limit on a real machine.
const noLimitV1 = int64(1) << 60

// parseCPUMax reads v2 cpu.max ("max 100000" or "200000 100000") as cores.
func parseCPUMax(s string) (cores float64, ok bool, err error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, false, fmt.Errorf("cpu.max: unexpected %q", s)
	}
	if f[0] == "max" {
		return 0, false, nil
	}
	quota, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, false, fmt.Errorf("cpu.max: %w", err)
	}
	period := 100000.0
	if len(f) == 2 {
		if period, err = strconv.ParseFloat(f[1], 64); err != nil {
			return 0, false, fmt.Errorf("cpu.max: %w", err)
		}
	}
	if quota <= 0 || period <= 0 {
		return 0, false, fmt.Errorf("cpu.max: unexpected %q", s)
	}
	return quota / period, true, nil
}

// parseCFSQuota reads v1 cpu.cfs_quota_us and cpu.cfs_period_us as cores;
// a quota of -1 is no limit.
func parseCFSQuota(quota, period string) (cores float64, ok bool, err error) {
	q, err := strconv.ParseInt(strings.TrimSpace(quota), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("cpu.cfs_quota_us: %w", err)
	}
	if q <= 0 {
		return 0, false, nil
	}
	p, err := strconv.ParseInt(strings.TrimSpace(period), 10, 64)
	if err != nil || p <= 0 {
		return 0, false, fmt.Errorf("cpu.cfs_period_us: unexpected %q", period)
	}
	return float64(q) / float64(p), true, nil
}

// parseMemoryLimit reads v2 memory.max ("max" or bytes) or v1
// memory.limit_in_bytes (bytes; huge means none).
func parseMemoryLimit(s string) (bytes int64, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Values past int64 also mean "no limit".
		if u, uerr := strconv.ParseUint(s, 10, 64); uerr == nil && u > math.MaxInt64 {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("memory limit: %w", err)
	}
	if n <= 0 || n >= noLimitV1 {
		return 0, false, nil
	}
	return n, true, nil
}

// parseInt reads a file holding one integer (memory.current, cpuacct.usage).
func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// parseKeyed reads "key value" lines (cpu.stat, memory.stat) into a map.
func parseKeyed(s string) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			out[f[0]] = n
		} else if u, err := strconv.ParseUint(f[1], 10, 64); err == nil && u > math.MaxInt64 {
			out[f[0]] = math.MaxInt64
		}
	}
	return out
}

// parseCPUList counts the CPUs in a list such as "0-3,8,10-11" (cpuset.cpus).
func parseCPUList(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// procCgroup is one line of /proc/self/cgroup.
type procCgroup struct {
	controllers []string // empty for the v2 line "0::/path"
	path        string
}

// parseProcCgroup reads /proc/self/cgroup: "id:controllers:path" lines.
func parseProcCgroup(s string) []procCgroup {
	var out []procCgroup
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var cs []string
		if parts[1] != "" {
			cs = strings.Split(parts[1], ",")
		}
		out = append(out, procCgroup{controllers: cs, path: parts[2]})
	}
	return out
}

// mount is one cgroup mount from /proc/self/mountinfo.
type mount struct {
	root        string // the cgroup path the mount shows at its mount point
	point       string
	v2          bool
	controllers []string // v1: from the super options (e.g. "rw,cpu,cpuacct")
}

// parseMountinfo keeps the cgroup and cgroup2 mounts of /proc/self/mountinfo.
// Fields: id parent major:minor root mountpoint options [optional…] - fstype source superoptions.
func parseMountinfo(s string) []mount {
	var out []mount
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		m := mount{root: unescapeMount(f[3]), point: unescapeMount(f[4])}
		switch g[0] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if o != "rw" && o != "ro" && !strings.Contains(o, "=") {
					m.controllers = append(m.controllers, o)
				}
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
