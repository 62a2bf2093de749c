package degrade

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
)

func reading(cpu, mem float64) Reading {
	return Reading{At: time.Now(), CPUPercent: cpu, CPUKnown: true, MemoryPercent: mem, MemoryLimit: 1 << 30}
}

// waitFor polls cond for up to 10 s (generous: a loaded 2-core machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGateLetsThroughWithoutReadingOrUnderTheLines(t *testing.T) {
	g := New(Options{})
	if err := g.Check(); err != nil {
		t.Fatalf("no reading yet: %v", err)
	}
	g.Update(reading(79.9, 84.9))
	if err := g.Check(); err != nil {
		t.Fatalf("under the lines: %v", err)
	}
	if s := g.State(); s.Shedding != "none" || s.Waiting != 0 || s.MemoryLine != 85 || s.CPULine != 80 {
		t.Fatalf("state: %+v", s)
	}
}

func TestGateRefusesOverTheMemoryLine(t *testing.T) {
	g := New(Options{})
	g.Update(reading(10, 85))
	err := g.Check()
	if !errors.Is(err, ErrShedMemory) {
		t.Fatalf("want unavailable/ErrShedMemory, got %v", err)
	}
	if msg, ok := fault.Message(err); !ok || msg == "" {
		t.Fatalf("message %q", msg)
	}
	if s := g.State(); s.Shedding != "memory" || s.RefusedMemory != 1 {
		t.Fatalf("state: %+v", s)
	}
	g.Update(reading(10, 50))
	if err := g.Check(); err != nil {
		t.Fatalf("memory back under the line: %v", err)
	}
}

func TestGateCPUQueueTimesOut(t *testing.T) {
	g := New(Options{Wait: 300 * time.Millisecond})
	g.Update(reading(95, 10))
	done := make(chan error, 1)
	go func() { done <- g.Check() }()
	waitFor(t, "the run to queue", func() bool { return g.State().Waiting == 1 })
	if s := g.State(); s.Shedding != "cpu" {
		t.Fatalf("state while waiting: %+v", s)
	}
	err := <-done
	if !errors.Is(err, ErrShedCPU) {
		t.Fatalf("want unavailable/ErrShedCPU, got %v", err)
	}
	if s := g.State(); s.Waiting != 0 || s.RefusedCPU != 1 {
		t.Fatalf("state after: %+v", s)
	}
}

// TestGateCPUQueueIsFIFO queues A and B while the CPU is over the line,
// then brings it under; C arrives while B still waits (the spacing holds it)
// and must not overtake B.
func TestGateCPUQueueIsFIFO(t *testing.T) {
	g := New(Options{Wait: 20 * time.Second, Spacing: 300 * time.Millisecond})
	g.Update(reading(95, 10))
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enter := func(name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Check(); err != nil {
				t.Errorf("%s refused: %v", name, err)
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
		}()
	}
	enter("A")
	waitFor(t, "A to queue", func() bool { return g.State().Waiting == 1 })
	enter("B")
	waitFor(t, "B to queue", func() bool { return g.State().Waiting == 2 })
	g.Update(reading(50, 10))
	waitFor(t, "A to be let through", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 })
	enter("C")
	wg.Wait()
	if len(order) != 3 || order[0] != "A" || order[1] != "B" || order[2] != "C" {
		t.Fatalf("order %v, want [A B C]", order)
	}
	if s := g.State(); s.WaitedThenRan < 2 || s.Waiting != 0 {
		t.Fatalf("state: %+v", s)
	}
}

func TestGateQueueIsBounded(t *testing.T) {
	g := New(Options{Wait: 20 * time.Second, MaxWaiting: 1})
	g.Update(reading(95, 10))
	done := make(chan error, 1)
	go func() { done <- g.Check() }()
	waitFor(t, "the first run to queue", func() bool { return g.State().Waiting == 1 })
	if err := g.Check(); !errors.Is(err, ErrShedCPU) {
		t.Fatalf("a full queue must refuse at once, got %v", err)
	}
	g.Update(reading(10, 10))
	if err := <-done; err != nil {
		t.Fatalf("the queued run: %v", err)
	}
}

func TestGateIgnoresAStaleReading(t *testing.T) {
	now := time.Now()
	g := New(Options{StaleAfter: time.Minute, Now: func() time.Time { return now }})
	u := reading(99, 99)
	u.At = now.Add(-2 * time.Minute)
	g.Update(u)
	if err := g.Check(); err != nil {
		t.Fatalf("a stale reading must not shut the class out: %v", err)
	}
	u = reading(50, 50)
	u.CPUKnown = false
	u.CPUPercent = 100
	g.Update(u)
	if err := g.Check(); err != nil {
		t.Fatalf("an unknown CPU figure must not queue: %v", err)
	}
}

func TestGateLinesSwitchedOff(t *testing.T) {
	g := New(Options{MemoryPercent: -1, CPUPercent: -1})
	g.Update(reading(100, 100))
	if err := g.Check(); err != nil {
		t.Fatalf("lines switched off: %v", err)
	}
	if s := g.State(); s.Shedding != "none" {
		t.Fatalf("state: %+v", s)
	}
}
