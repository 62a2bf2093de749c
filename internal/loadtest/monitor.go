package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The server's CPU and memory come from /proc, so the monitor works only
// for a server on this machine. Students' programs are separate processes
// and are not counted: the figures are the server's own.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// Linux fixes it at 100 on every architecture Go supports.
const clockTicks = 100

// Sample is the server at one moment.
type Sample struct {
	At       float64 `json:"t"`         // seconds since the load test started
	CPU      float64 `json:"cpu_pct"`   // since the previous sample; 100 = one core
	RSS      int64   `json:"rss_bytes"` // resident memory
	Threads  int     `json:"threads"`
	Students int     `json:"students"` // simulated students active then
}

// procStat is what one read of /proc/<pid> gives.
type procStat struct {
	cpu     time.Duration // user + system time so far
	rss     int64
	threads int
}

func readProc(pid int) (procStat, error) {
	var ps procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields after it start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ps, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return ps, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return ps, err
	}
	ps.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	st, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	defer st.Close()
	sc := bufio.NewScanner(st)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch k {
		case "VmRSS": // "  12345 kB"
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			ps.rss = kb << 10
		case "Threads":
			ps.threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return ps, sc.Err()
}

// monitor samples a process until stopped.
type monitor struct {
	pid     int
	every   time.Duration
	began   time.Time
	active  func() int
	maxKeep int

	mu      sync.Mutex
	samples []Sample
	err     error
}

func (m *monitor) run(ctx context.Context) {
	prev, err := readProc(m.pid)
	if err != nil {
		m.fail(err)
		return
	}
	prevAt := time.Now()
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := readProc(m.pid)
		if err != nil {
			m.fail(err) // the server is gone: what it did until now stays
			return
		}
		now := time.Now()
		cpu := 100 * float64(cur.cpu-prev.cpu) / float64(now.Sub(prevAt))
		m.mu.Lock()
		if len(m.samples) < m.maxKeep {
			m.samples = append(m.samples, Sample{
				At: roundTo(now.Sub(m.began).Seconds(), 1), CPU: roundTo(cpu, 1), RSS: cur.rss,
				Threads: cur.threads, Students: m.active(),
			})
		}
		m.mu.Unlock()
		prev, prevAt = cur, now
	}
}

func (m *monitor) fail(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// ServerStats sums up the samples.
type ServerStats struct {
	PID     int      `json:"pid"`
	Error   string   `json:"error,omitempty"`
	CPUAvg  float64  `json:"cpu_avg_pct"`
	CPUMax  float64  `json:"cpu_max_pct"`
	RSSMax  int64    `json:"rss_max_bytes"`
	RSSLast int64    `json:"rss_last_bytes"`
	Samples []Sample `json:"samples"`
}

func (m *monitor) stats() *ServerStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &ServerStats{PID: m.pid, Samples: append([]Sample(nil), m.samples...)}
	if m.err != nil {
		s.Error = m.err.Error()
	}
	for _, x := range m.samples {
		s.CPUAvg += x.CPU
		s.CPUMax = max(s.CPUMax, x.CPU)
		s.RSSMax = max(s.RSSMax, x.RSS)
		s.RSSLast = x.RSS
	}
	if n := len(m.samples); n > 0 {
		s.CPUAvg = roundTo(s.CPUAvg/float64(n), 1)
	}
	return s
}

func roundTo(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// FindListener returns the process listening on TCP port on this machine
// (any of its addresses): the socket's inode from /proc/net/tcp{,6}, then
// the process holding it among /proc/*/fd. Reading other users' fds needs
// root or the same user.
func FindListener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fl := strings.Fields(line)
			if len(fl) < 10 || fl[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fl[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+fl[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d here", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, fdDir := range procs {
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && inodes[link] {
				return strconv.Atoi(filepath.Base(filepath.Dir(fdDir)))
			}
		}
	}
	return 0, fmt.Errorf("the process listening on port %d is not visible (run as its user or root, or give --server-pid)", port)
}
