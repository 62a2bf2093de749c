package interp

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// Output frames are almost every frame the driver sends (a print flood is
// tens of thousands a second), and encoding/json's reflection cost 5 µs and
// nine allocations for each. The driver writes them in exactly one shape,
// {"t":"stdout","d":"…"} with the text escaped to ASCII, so that shape is
// decoded here directly; anything else — other events, other key orders, a
// frame a program forged on fd 3 — goes to encoding/json, and FuzzDecodeEvent
// holds the two to the same answer.

var (
	stdoutHead = []byte(`{"t":"stdout","d":"`)
	stderrHead = []byte(`{"t":"stderr","d":"`)
	frameTail  = []byte(`"}`)
)

// decodeOutput decodes an output frame in the driver's own shape; ok is
// false when line is anything else or anything unusual (the caller then
// uses encoding/json).
func decodeOutput(line []byte) (ev Event, ok bool) {
	var typ string
	switch {
	case bytes.HasPrefix(line, stdoutHead):
		typ = TypeStdout
	case bytes.HasPrefix(line, stderrHead):
		typ = TypeStderr
	default:
		return Event{}, false
	}
	body := line[len(stdoutHead):] // both heads are the same length
	if !bytes.HasSuffix(body, frameTail) {
		return Event{}, false
	}
	data, ok := unescapeASCII(body[:len(body)-len(frameTail)])
	if !ok {
		return Event{}, false
	}
	return Event{Type: typ, Data: data}, true
}

// unescapeASCII decodes the inside of a JSON string made only of printable
// ASCII and the escapes \" \\ \/ \b \f \n \r \t \uXXXX (a lone surrogate
// becomes U+FFFD, as encoding/json does). ok is false for anything else.
func unescapeASCII(s []byte) (string, bool) {
	if bytes.IndexByte(s, '\\') < 0 {
		for _, c := range s {
			if c < 0x20 || c > 0x7e || c == '"' {
				return "", false
			}
		}
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c > 0x7e || c == '"':
			return "", false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok2 = hex4(s, i+3)
				}
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

// hex4 reads four hex digits at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
