package monitor

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// The /proc parsers of the machine's own figures (the cgroup files are read
// by internal/cgroup).

// parseMeminfo returns MemTotal and MemAvailable in bytes.
func parseMeminfo(s string) (total, available int64, err error) {
	total, available = -1, -1
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) == 3 && f[2] == "kB" {
			n *= 1024
		}
		switch f[0] {
		case "MemTotal:":
			total = n
		case "MemAvailable:":
			available = n
		}
	}
	if total <= 0 || available < 0 {
		return 0, 0, fmt.Errorf("meminfo: MemTotal or MemAvailable missing")
	}
	return total, available, nil
}

// parseProcStat returns the busy and total jiffies of the "cpu" line of
// /proc/stat and the number of "cpuN" lines. Idle and iowait are not busy;
// guest time is already inside user and nice.
func parseProcStat(s string) (busy, total uint64, cpus int, err error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	found := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cpus++
			continue
		}
		found = true
		for i, v := range f[1:] {
			if i >= 8 { // guest and guest_nice are counted in user and nice
				break
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("/proc/stat: %w", err)
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("/proc/stat: no cpu line")
	}
	return busy, total, cpus, nil
}
