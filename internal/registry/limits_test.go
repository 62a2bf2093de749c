package registry

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultLimitsAreTheSeeds(t *testing.T) {
	l := DefaultLimits()
	if l.MaxActiveUsers != 38 || l.MaxPerUser != 3 || l.MaxTotal != 114 {
		t.Errorf("counts: %+v", l)
	}
	if l.MemoryPerProc != 50<<20 || l.MemoryTotal != 3<<30 {
		t.Errorf("memory: %d, %d", l.MemoryPerProc, l.MemoryTotal)
	}
	if l.WallClock != 300*time.Second || l.IdleTimeout != 30*time.Minute || l.InputTimeout != 10*time.Minute || l.AbandonGrace != time.Minute {
		t.Errorf("durations: %+v", l)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Limits)
		want   string // "" for valid
	}{
		{"defaults", func(*Limits) {}, ""},
		{"zero users", func(l *Limits) { l.MaxActiveUsers = 0 }, "MaxActiveUsers"},
		{"negative per user", func(l *Limits) { l.MaxPerUser = -1 }, "MaxPerUser"},
		{"zero total", func(l *Limits) { l.MaxTotal = 0 }, "MaxTotal"},
		{"zero memory", func(l *Limits) { l.MemoryPerProc = 0 }, "memory"},
		{"per process over total", func(l *Limits) { l.MemoryPerProc = l.MemoryTotal + 1 }, "MemoryPerProc"},
		{"per process equal to total", func(l *Limits) { l.MemoryPerProc = l.MemoryTotal }, ""},
		{"zero wall clock", func(l *Limits) { l.WallClock = 0 }, "WallClock"},
		{"zero idle", func(l *Limits) { l.IdleTimeout = 0 }, "IdleTimeout"},
		{"zero input", func(l *Limits) { l.InputTimeout = 0 }, "InputTimeout"},
		{"zero grace", func(l *Limits) { l.AbandonGrace = 0 }, "AbandonGrace"},
		{"zero start", func(l *Limits) { l.StartTimeout = 0 }, "StartTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := DefaultLimits()
			tt.change(&l)
			err := l.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid limits refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
			if _, nerr := New(l, newFakeClock()); (nerr == nil) != (err == nil) {
				t.Errorf("New disagrees with Validate: %v vs %v", nerr, err)
			}
		})
	}
}

func TestNewWithoutClockUsesSystemClock(t *testing.T) {
	r, err := New(DefaultLimits(), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	admit(t, r, "p", "alice", "", KindREPL)
	if p, _ := r.Get("p"); p.AdmittedAt.Before(before) || p.AdmittedAt.After(time.Now()) {
		t.Errorf("admitted at %s, not now", p.AdmittedAt)
	}
}
