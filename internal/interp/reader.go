package interp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrame bounds a frame when NewReader is given no positive limit. A
// figure is one frame (base64 PNG, typically 20–200 KB), so the limit must sit
// well above the largest figure the server is willing to forward.
const DefaultMaxFrame = 8 << 20

var (
	// ErrFrameTooLarge: a frame was longer than the limit. It was skipped
	// without being held in memory; the next call reads the frame after it.
	ErrFrameTooLarge = errors.New("interp: event frame too large")
	// ErrMalformed: a frame was not a valid event (bad JSON, unknown type,
	// missing fields). The next call reads the frame after it.
	ErrMalformed = errors.New("interp: malformed event frame")
)

// Reader decodes the driver's events from fd 3. It never holds more than the
// frame limit plus a small read buffer, whatever arrives; a bad frame is an
// error for that frame only, so the caller decides whether to go on. The end
// of the stream is io.EOF, or io.ErrUnexpectedEOF when it cuts a frame short
// (the process was killed mid-write).
type Reader struct {
	br       *bufio.Reader
	maxFrame int
	buf      []byte
}

// NewReader reads events from r, rejecting frames longer than maxFrame bytes
// (DefaultMaxFrame if maxFrame <= 0).
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	// The buffer lives as long as the process, for every process: keep it
	// small. Longer frames are assembled in buf as they arrive.
	size := min(maxFrame+1, 4<<10)
	return &Reader{br: bufio.NewReaderSize(r, max(size, 16)), maxFrame: maxFrame}
}

// Next returns the next event. Errors wrapping ErrFrameTooLarge or
// ErrMalformed are about one frame; io.EOF, io.ErrUnexpectedEOF and read
// errors end the stream.
func (r *Reader) Next() (Event, error) {
	line, err := r.readFrame()
	if err != nil {
		return Event{}, err
	}
	return decodeEvent(line)
}

// readFrame returns one line without its newline, never buffering more than
// maxFrame bytes of it.
func (r *Reader) readFrame() ([]byte, error) {
	r.buf = r.buf[:0]
	tooLarge := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLarge {
			if len(r.buf)+len(bytes.TrimSuffix(chunk, []byte("\n"))) > r.maxFrame {
				tooLarge, r.buf = true, r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case err == nil: // reached the newline
			if tooLarge {
				return nil, fmt.Errorf("%w (limit %d bytes)", ErrFrameTooLarge, r.maxFrame)
			}
			return r.buf[:len(r.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(chunk) == 0 && len(r.buf) == 0 && !tooLarge {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func decodeEvent(line []byte) (Event, error) {
	if ev, ok := decodeOutput(line); ok {
		return ev, nil
	}
	return decodeJSON(line)
}

// decodeJSON decodes any frame with encoding/json.
func decodeJSON(line []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(line, &w); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.T == nil {
		return Event{}, fmt.Errorf("%w: no type", ErrMalformed)
	}
	ev := Event{Type: *w.T, Data: w.D, Prompt: w.Prompt, Mime: w.Mime}
	switch ev.Type {
	case TypeStdout, TypeStderr, TypeInput, TypeREPLReady, TypeWarm:
	case TypeFigure:
		if ev.Mime == "" || ev.Data == "" {
			return Event{}, fmt.Errorf("%w: figure without mime or data", ErrMalformed)
		}
	default:
		return Event{}, fmt.Errorf("%w: unknown type %q", ErrMalformed, ev.Type)
	}
	return ev, nil
}
