package loadtest

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	ps, err := readProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc on this machine: %v", err)
	}
	if ps.rss <= 0 || ps.threads < 1 {
		t.Fatalf("%+v", ps)
	}
	// Burn some CPU: the counter must move.
	end := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(end) {
	}
	after, err := readProc(os.Getpid())
	if err != nil || after.cpu <= ps.cpu {
		t.Fatalf("cpu %v → %v (%v)", ps.cpu, after.cpu, err)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Fatal("read a process that cannot exist")
	}
}

func TestFindListenerFindsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this machine")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	pid, err := FindListener(port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("FindListener(%d) = %d, %v; want %d", port, pid, err, os.Getpid())
	}
	l.Close()
	if pid, err := FindListener(port); err == nil {
		t.Fatalf("found %d on a closed port", pid)
	}
}

func TestMonitorSamplesUntilStopped(t *testing.T) {
	if _, err := readProc(os.Getpid()); err != nil {
		t.Skipf("no /proc on this machine: %v", err)
	}
	m := &monitor{pid: os.Getpid(), every: 20 * time.Millisecond, began: time.Now(), maxKeep: 3, active: func() int { return 7 }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.stats().Samples) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more ticks: the bound must hold
	cancel()
	<-done
	s := m.stats()
	if len(s.Samples) != 3 || s.RSSMax <= 0 || s.Samples[0].Students != 7 || s.Error != "" {
		t.Fatalf("%+v", s)
	}
}
