package sandbox

import (
	"bytes"
	"sync"
)

// Capture keeps the first Max bytes written to it (a confined process's
// stderr, for an error or the log) and drops the rest, so a process that
// writes without end costs the server nothing. Safe for concurrent use.
type Capture struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.Max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// String is what was kept, without surrounding white space.
func (c *Capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(bytes.TrimSpace(c.b.Bytes()))
}
