package loadtest

import (
	"context"
	"testing"
	"time"
)

// bound is how long a run may take past what it was asked for before the
// test calls it unbounded: generous, for a loaded 2-core machine.
const bound = 20 * time.Second

func quickConfig(url string) Config {
	c := Defaults()
	c.URL, c.Users, c.Ramp, c.Think = url, 3, 0, 0
	c.Mix = Mix{ActList: 1, ActOpen: 1, ActSave: 1}
	c.BaselinePython = ""
	c.SampleEvery = 50 * time.Millisecond
	c.OpTimeout = 5 * time.Second
	return c
}

func TestLoopStopsAtMaxActions(t *testing.T) {
	f := newFakeServer(t, false)
	c := quickConfig(f.srv.URL)
	c.MaxActions, c.Duration = 20, 10*time.Minute
	p := &fakeProvisioner{}
	start := time.Now()
	rep, err := Run(context.Background(), c, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > bound {
		t.Fatalf("took %v for 60 quick actions", took)
	}
	if len(p.names) != 3 || p.names[0] != "lt001" || p.password == "" {
		t.Fatalf("provisioned %v with %q", p.names, p.password)
	}
	if sum(rep.Actions) != 3*20 || rep.Attempts != 3*(20+3) {
		t.Fatalf("actions %v, attempts %d", rep.Actions, rep.Attempts)
	}
	if !rep.Passed() || rep.Ops[OpLogin].Count != 3 || rep.Ops[OpSave].Count < 3 {
		t.Fatalf("failures %v, ops %v", rep.Failures, rep.Ops)
	}
	if rep.Server == nil || rep.Server.PID == 0 {
		t.Fatalf("the server (this process) was not found: %+v", rep.Server)
	}
}

func TestLoopStopsOnTime(t *testing.T) {
	f := newFakeServer(t, false)
	c := quickConfig(f.srv.URL)
	c.Duration, c.Ramp, c.Think = time.Second, 200*time.Millisecond, 10*time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), c, &fakeProvisioner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < c.Duration || took > c.Duration+bound {
		t.Fatalf("a %v run took %v", c.Duration, took)
	}
	if !rep.Passed() || sum(rep.Actions) < 3 {
		t.Fatalf("actions %v, failures %v", rep.Actions, rep.Failures)
	}
	// Nothing of the run is left behind making requests.
	n := f.requests.Load()
	time.Sleep(300 * time.Millisecond)
	if m := f.requests.Load(); m != n {
		t.Fatalf("%d requests after the run ended", m-n)
	}
}

// TestHangingServerIsBounded: a server that never answers costs each wait
// OpTimeout, never more, and every timeout is counted.
func TestHangingServerIsBounded(t *testing.T) {
	f := newFakeServer(t, true)
	c := quickConfig(f.srv.URL)
	c.Duration, c.OpTimeout = 500*time.Millisecond, 300*time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), c, &fakeProvisioner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > bound {
		t.Fatalf("took %v", took)
	}
	if rep.Failures["login: timeout"] != 3 || rep.Passed() {
		t.Fatalf("failures %v", rep.Failures)
	}
}

// TestCancelEndsAtOnce: cancelling (Ctrl-C) ends the students mid-wait,
// and the waits it cut short are not counted as the server's failures.
func TestCancelEndsAtOnce(t *testing.T) {
	f := newFakeServer(t, true)
	c := quickConfig(f.srv.URL)
	c.Duration, c.OpTimeout = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, c, &fakeProvisioner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > bound {
		t.Fatalf("took %v after cancel", took)
	}
	if rep.FailureCount != 0 {
		t.Fatalf("cancellation counted as failures: %v", rep.Failures)
	}
}
