package interp

import (
	"io"
	"strings"
	"sync"
)

// Writer sends lines to the driver on fd 4.
//
// The channel is line-oriented: every input() call and every REPL prompt
// consumes exactly one line, so a block of several lines (a pasted for loop or
// def) sent as one message is split by the driver and consumed line by line,
// as a terminal would feed it. A block pasted without its closing blank line
// is closed by the driver when the next unindented line arrives.
type Writer struct {
	mu sync.Mutex // one message's lines must not interleave with another's
	w  io.Writer
}

// NewWriter sends lines to w (fd 4 of the interpreter). The caller closes w to
// signal end of input.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Line sends s: CR LF and lone CR become LF (browsers send either), and a
// final newline is added if missing. It blocks while the pipe is full, that
// is while the program is not reading.
func (w *Writer) Line(s string) error {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := io.WriteString(w.w, s)
	return err
}
