package monitor

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"time"
)

// Check is the result of one probe.
type Check struct {
	OK      bool
	Latency time.Duration
	Err     string // the cause, for operators only (never shown to anyone else)
	At      time.Time
}

// timed runs probe with a deadline and measures it. A probe that hangs (a
// dead NFS mount blocks in the kernel) is reported failed at the deadline;
// its goroutine finishes whenever the kernel lets it.
func timed(ctx context.Context, timeout time.Duration, probe func(ctx context.Context) error) Check {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- probe(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = errors.New("no answer within " + timeout.String())
	}
	c := Check{OK: err == nil, Latency: time.Since(start), At: time.Now()}
	if err != nil {
		c.Err = err.Error()
	}
	return c
}

// ProbeStorage writes, fsyncs, reads back and removes a small file in dir:
// a volume that went away, filled up or turned read-only fails here, which
// a stat or a directory listing would not show.
func ProbeStorage(dir string) error {
	want := make([]byte, 32)
	_, _ = rand.Read(want)
	f, err := os.CreateTemp(dir, ".health-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := f.Write(want); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	got, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("storage probe read back different bytes")
	}
	return os.Remove(name)
}
