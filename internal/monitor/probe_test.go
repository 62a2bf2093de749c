package monitor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbeStorage(t *testing.T) {
	dir := t.TempDir()
	if err := ProbeStorage(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("the probe left %d files", len(left))
	}
	if err := ProbeStorage(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing folder passed the probe")
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if err := ProbeStorage(f); err == nil {
		t.Fatal("a file passed the probe as a folder")
	}
}

func TestProbeTimesOut(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := timed(context.Background(), 50*time.Millisecond, func(context.Context) error { <-block; return nil })
	if c.OK || !strings.Contains(c.Err, "no answer") {
		t.Fatalf("a hanging probe: %+v", c)
	}
}
