package registry

import (
	"errors"
	"fmt"
	"time"
)

// Memory sizes are in MiB/GiB because that is what the kernel means by the
// "50M" the sandbox writes to a cgroup; students read them as "MB"/"GB".
const (
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Limits are the admission and sweep limits. Every field must be positive:
// a zero left by a half-filled struct must not silently mean "unlimited".
type Limits struct {
	MaxActiveUsers int   // users with at least one process
	MaxPerUser     int   // processes per user
	MaxTotal       int   // processes on the server
	MemoryPerProc  int64 // bytes; the kernel enforces it, the sweep catches what slips past
	MemoryTotal    int64 // bytes for all student processes together

	// WallClock bounds the time a process spends running, not counting time
	// waiting in input() or idle at the REPL prompt, summed over its life.
	WallClock    time.Duration
	IdleTimeout  time.Duration // no CPU progress, no output, no input
	InputTimeout time.Duration // one wait in input()
	AbandonGrace time.Duration // owner without any connection
	StartTimeout time.Duration // admitted but never reported Started: the spawn failed
}

// DefaultLimits are the seed's numbers: 38 users, 3 each, 114 in all, 50 MB
// each and 3 GB together (1 GB of a 4 GB machine kept for the server).
func DefaultLimits() Limits {
	return Limits{
		MaxActiveUsers: 38,
		MaxPerUser:     3,
		MaxTotal:       114,
		MemoryPerProc:  50 * MiB,
		MemoryTotal:    3 * GiB,
		WallClock:      300 * time.Second,
		IdleTimeout:    30 * time.Minute,
		InputTimeout:   10 * time.Minute,
		AbandonGrace:   60 * time.Second,
		StartTimeout:   30 * time.Second,
	}
}

// Validate reports the first field that would make the registry refuse
// everything or stop everything.
func (l Limits) Validate() error {
	counts := []struct {
		name string
		v    int
	}{{"MaxActiveUsers", l.MaxActiveUsers}, {"MaxPerUser", l.MaxPerUser}, {"MaxTotal", l.MaxTotal}}
	for _, c := range counts {
		if c.v <= 0 {
			return fmt.Errorf("registry: limit %s must be positive, got %d", c.name, c.v)
		}
	}
	if l.MemoryPerProc <= 0 || l.MemoryTotal <= 0 {
		return fmt.Errorf("registry: memory limits must be positive, got %d per process and %d in total", l.MemoryPerProc, l.MemoryTotal)
	}
	if l.MemoryPerProc > l.MemoryTotal {
		return errors.New("registry: MemoryPerProc is larger than MemoryTotal, so nothing could ever be admitted")
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"WallClock", l.WallClock}, {"IdleTimeout", l.IdleTimeout}, {"InputTimeout", l.InputTimeout},
		{"AbandonGrace", l.AbandonGrace}, {"StartTimeout", l.StartTimeout},
	}
	for _, d := range durations {
		if d.v <= 0 {
			return fmt.Errorf("registry: limit %s must be positive, got %s", d.name, d.v)
		}
	}
	return nil
}
