package registry

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestReasonMessages(t *testing.T) {
	l := DefaultLimits()
	want := map[Reason]string{
		ReasonExited:      "The program finished.",
		ReasonError:       "The program stopped because of an error.",
		ReasonStopped:     "You stopped the program.",
		ReasonTimeout:     "Stopped: your program ran for more than 5 minutes (time spent waiting for input does not count).",
		ReasonCPULimit:    "Stopped: your program used too much processor time.",
		ReasonMemoryLimit: "Stopped: your program used more than 50 MB of memory.",
		ReasonOutputLimit: "Stopped: your program printed too much output too quickly.",
		ReasonIdle:        "Stopped: your program did nothing for 30 minutes.",
		ReasonAbandoned:   "Stopped: you were disconnected for more than 1 minute.",
		ReasonAdmin:       "Stopped by your teacher.",
		ReasonShutdown:    "Stopped because the server is restarting. Please run it again.",
	}
	if len(Reasons()) != len(want) {
		t.Fatalf("Reasons() has %d, the wire has %d", len(Reasons()), len(want))
	}
	for _, r := range Reasons() {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
		if got := r.Message(l); got != want[r] {
			t.Errorf("%s: got %q, want %q", r, got, want[r])
		}
	}
	if got := InputTimeoutMessage(l); got != "Stopped: your program waited more than 10 minutes for input." {
		t.Errorf("InputTimeoutMessage: %q", got)
	}
	if got := StartTimeoutMessage("R-0a1b2c"); got != "Your program could not be started because the server took too long to start it. "+
		"This is a problem on the server, not in your program. "+
		"Try again in a minute; if it keeps happening, tell your teacher and give them the reference R-0a1b2c." {
		t.Errorf("StartTimeoutMessage: %q", got)
	}
	if a, b := NewRef(), NewRef(); !regexp.MustCompile(`^R-[0-9a-f]{6}$`).MatchString(a) || a == b {
		t.Errorf("NewRef: %q, then %q", a, b)
	}
	if a, b := RefFor("p0123456789abcdef"), RefFor("p0123456789abcdef"); !regexp.MustCompile(`^R-[0-9a-f]{6}$`).MatchString(a) || a != b || a == RefFor("p0123456789abcdee") {
		t.Errorf("RefFor: %q, then %q", a, b)
	}
	if Reason("crashed").Valid() {
		t.Error("an unknown reason is valid")
	}
	if Reason("crashed").Message(l) == "" {
		t.Error("an unknown reason has no message")
	}
	// Messages follow the limits in force.
	l.MemoryPerProc = 128 * MiB
	l.WallClock = 90 * time.Second
	if m := ReasonMemoryLimit.Message(l); !strings.Contains(m, "128 MB") {
		t.Errorf("memory message ignores the limit: %q", m)
	}
	if m := ReasonTimeout.Message(l); !strings.Contains(m, "90 seconds") {
		t.Errorf("timeout message ignores the limit: %q", m)
	}
}

func TestHumanUnits(t *testing.T) {
	durations := []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "1 second"},
		{45 * time.Second, "45 seconds"},
		{90 * time.Second, "90 seconds"},
		{time.Minute, "1 minute"},
		{300 * time.Second, "5 minutes"},
		{time.Hour, "1 hour"},
		{2 * time.Hour, "2 hours"},
		{90 * time.Minute, "90 minutes"},
		{500 * time.Millisecond, "500ms"},
	}
	for _, tt := range durations {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	sizes := []struct {
		b    int64
		want string
	}{
		{50 * MiB, "50 MB"},
		{3 * GiB, "3 GB"},
		{1536 * MiB, "1536 MB"},
		{1000, "1000 bytes"},
	}
	for _, tt := range sizes {
		if got := humanBytes(tt.b); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.b, got, tt.want)
		}
	}
}
