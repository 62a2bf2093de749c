package interp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReaderFrames(t *testing.T) {
	type step struct {
		ev  Event
		err error
	}
	tests := []struct {
		name  string
		input string
		max   int
		want  []step
	}{
		{"every type", `{"t":"stdout","d":"a\nb"}` + "\n" + `{"t":"stderr","d":"\u00e9"}` + "\n" +
			`{"t":"input","prompt":"? "}` + "\n" + `{"t":"repl_ready","prompt":"... "}` + "\n" +
			`{"t":"figure","mime":"image/png","d":"iVBORw0KGgo="}` + "\n", 0, []step{
			{Event{Type: TypeStdout, Data: "a\nb"}, nil},
			{Event{Type: TypeStderr, Data: "é"}, nil},
			{Event{Type: TypeInput, Prompt: "? "}, nil},
			{Event{Type: TypeREPLReady, Prompt: "... "}, nil},
			{Event{Type: TypeFigure, Mime: "image/png", Data: "iVBORw0KGgo="}, nil},
			{Event{}, io.EOF},
		}},
		{"empty stream", "", 0, []step{{Event{}, io.EOF}}},
		{"oversized frame is skipped", `{"t":"stdout","d":"` + strings.Repeat("x", 100) + `"}` + "\n" + `{"t":"stdout","d":"ok"}` + "\n", 64, []step{
			{Event{}, ErrFrameTooLarge},
			{Event{Type: TypeStdout, Data: "ok"}, nil},
			{Event{}, io.EOF},
		}},
		{"frame exactly at the limit", `{"t":"stdout","d":"12345"}` + "\n", len(`{"t":"stdout","d":"12345"}`), []step{
			{Event{Type: TypeStdout, Data: "12345"}, nil},
			{Event{}, io.EOF},
		}},
		{"one byte over the limit", `{"t":"stdout","d":"123456"}` + "\n", len(`{"t":"stdout","d":"12345"}`), []step{
			{Event{}, ErrFrameTooLarge},
			{Event{}, io.EOF},
		}},
		{"garbage, then a good frame", "\x00\xff not json\n{\"t\":\"stdout\",\"d\":\"ok\"}\n", 0, []step{
			{Event{}, ErrMalformed},
			{Event{Type: TypeStdout, Data: "ok"}, nil},
			{Event{}, io.EOF},
		}},
		{"unknown type", `{"t":"exec","d":"rm -rf /"}` + "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"no type", `{"d":"x"}` + "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"wrong field type", `{"t":"stdout","d":5}` + "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"figure without data", `{"t":"figure","mime":"image/png"}` + "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"two objects on one line", `{"t":"stdout"}{"t":"stdout"}` + "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"blank line", "\n", 0, []step{{Event{}, ErrMalformed}, {Event{}, io.EOF}}},
		{"cut short by a kill", `{"t":"stdout","d":"par`, 0, []step{{Event{}, io.ErrUnexpectedEOF}, {Event{}, io.EOF}}},
		{"oversized and cut short", strings.Repeat("x", 500), 64, []step{{Event{}, io.ErrUnexpectedEOF}, {Event{}, io.EOF}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.input), tc.max)
			for i, want := range tc.want {
				ev, err := r.Next()
				if !errors.Is(err, want.err) || (want.err == nil && err != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, want.err)
				}
				if !reflect.DeepEqual(ev, want.ev) {
					t.Errorf("step %d: %q, want %q", i, ev, want.ev)
				}
			}
		})
	}
}

// endless is an io.Reader of n bytes of 'a' with no newline, then a real frame.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return copy(p, "\n{\"t\":\"stdout\",\"d\":\"after\"}\n"), io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	e.n -= k
	return k, nil
}

// A frame far larger than the limit is skipped without being held in memory.
func TestReaderBoundsMemory(t *testing.T) {
	const limit = 4096
	r := NewReader(&endless{n: 256 << 20}, limit)
	if _, err := r.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if cap(r.buf) > limit+64<<10 {
		t.Errorf("reader buffered %d bytes for a %d-byte limit", cap(r.buf), limit)
	}
	if ev, err := r.Next(); err != nil || ev.Data != "after" {
		t.Errorf("after the oversized frame: %q, %v", ev, err)
	}
}

func TestWriterLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"bob", "bob\n"},
		{"bob\n", "bob\n"},
		{"", "\n"},
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\rb", "a\nb\n"},
		{"for i in x:\n    print(i)\n\n", "for i in x:\n    print(i)\n\n"},
		{"é ✓", "é ✓\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := NewWriter(&buf).Line(tc.in); err != nil || buf.String() != tc.want {
			t.Errorf("Line(%q) wrote %q (%v), want %q", tc.in, buf.String(), err, tc.want)
		}
	}
}

// FuzzReader: no input makes the reader panic, loop or return an invalid event.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"t":"stdout","d":"hi"}`+"\n"), 64)
	f.Add([]byte(`{"t":"figure","mime":"image/png","d":"AAAA"}`+"\n"+`{"t":"input","prompt":"?"}`), 16)
	f.Add([]byte("\x00\xff\n\n{\"t\":null}\n{\"t\":\"repl_ready\"}"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		r := NewReader(bytes.NewReader(data), max%100000)
		// Each call consumes at least one byte or ends the stream.
		for range len(data) + 2 {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			switch ev.Type {
			case TypeStdout, TypeStderr, TypeInput, TypeREPLReady:
			case TypeFigure:
				if ev.Mime == "" || ev.Data == "" {
					t.Fatalf("figure without mime or data: %q", ev)
				}
			default:
				t.Fatalf("invalid event type %q", ev.Type)
			}
		}
		t.Fatalf("reader did not reach the end of %d bytes", len(data))
	})
}
