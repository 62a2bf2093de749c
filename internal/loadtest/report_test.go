package loadtest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport(users int, p99 float64, failures int) *Report {
	r := &Report{Version: reportVersion, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Config:   ReportConfig{URL: "http://127.0.0.1:8080", Users: users, Duration: 60, Mix: DefaultMix().String()},
		Ops:      map[Op]OpStats{OpSave: {Count: 100, P50: 2, P95: 5, P99: p99, Max: 30}},
		Failures: map[string]int{}, Refusals: map[string]int{"run: limit_reached": 4}, RefusalCount: 4,
		Exits:  map[string]int{"run: stopped": 10},
		Server: &ServerStats{PID: 42, CPUAvg: 50, RSSMax: 30 << 20},
	}
	if failures > 0 {
		r.Failures["save: http 500 internal"] = failures
		r.FailureCount = failures
	}
	return r
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := sampleReport(38, 12.5, 0)
	p := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Ops[OpSave] != r.Ops[OpSave] || back.Config != r.Config || back.Server.RSSMax != r.Server.RSSMax || !back.Started.Equal(r.Started) {
		t.Fatalf("%+v", back)
	}
	r.Version = 99
	r.WriteJSON(p)
	if _, err := ReadReport(p); err == nil {
		t.Fatal("read a report of another version")
	}
}

// TestPassedIgnoresRefusals: a limit saying no is the product working;
// a failure or one foreign line is not.
func TestPassedIgnoresRefusals(t *testing.T) {
	r := sampleReport(38, 10, 0)
	if !r.Passed() {
		t.Fatal("refusals failed the run")
	}
	r.Output.Foreign = 1
	if r.Passed() {
		t.Fatal("foreign output passed")
	}
	if sampleReport(38, 10, 1).Passed() {
		t.Fatal("a failure passed")
	}
}

func TestWriteTextAndCompare(t *testing.T) {
	a, b := sampleReport(38, 10, 0), sampleReport(38, 15, 2)
	var out bytes.Buffer
	b.WriteText(&out)
	for _, want := range []string{"save", "15.0", "save: http 500 internal", "run: limit_reached", "FAIL", "30.0 MiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	Compare(&out, a, b)
	for _, want := range []string{"save", "+50%", "A PASS, B FAIL", "failures", "new"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTallySortsErrors(t *testing.T) {
	tl := newTally()
	tl.add(apiError("run", 0, "limit_reached", "too many"), false)
	tl.add(apiError("save", 412, "conflict", "stale"), false)
	tl.add(apiError("save", 412, "conflict", "stale"), false)
	tl.add(transportError("login", context.DeadlineExceeded), false)
	tl.add(transportError("login", errors.New("connection refused")), false)
	tl.add(transportError("login", context.Canceled), true) // the run ending: not counted
	f, r, ex := tl.snapshot()
	want := map[string]int{"save: http 412 conflict": 2, "login: timeout": 1, "login: transport": 1}
	if len(f) != len(want) || r["run: limit_reached"] != 1 || len(r) != 1 || len(ex) != 3 {
		t.Fatalf("failures %v refusals %v examples %v", f, r, ex)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s: %d, want %d", k, f[k], v)
		}
	}
}
