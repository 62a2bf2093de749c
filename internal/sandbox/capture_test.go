package sandbox

import "testing"

// TestCaptureKeepsOnlyItsBound writes far past the bound: what is kept is
// the first Max bytes, and every write still reports itself complete (a
// process writing its stderr must never see an error and stop).
func TestCaptureKeepsOnlyItsBound(t *testing.T) {
	c := Capture{Max: 10}
	for i := 0; i < 1000; i++ {
		if n, err := c.Write([]byte("  abcdef\n")); n != 9 || err != nil {
			t.Fatalf("write %d: %d %v", i, n, err)
		}
	}
	// Kept: "  abcdef\n" and the first space of the next write, trimmed.
	if got := c.String(); got != "abcdef" {
		t.Fatalf("kept %q", got)
	}
}
