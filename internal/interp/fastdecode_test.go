package interp

import (
	"reflect"
	"testing"
)

var decodeSeeds = []string{
	`{"t":"stdout","d":"hello, world\n"}`,
	`{"t":"stderr","d":"Traceback (most recent call last):\n  File \"x.py\", line 1\n"}`,
	`{"t":"stdout","d":"caf\u00e9 \ud83d\ude00 \t\\ \/ \b\f\r"}`,
	`{"t":"stdout","d":"lone \ud83d then \u0041, low \ude00 alone, \ud83d\u0041"}`,
	`{"t":"stdout","d":""}`,
	`{"t":"stdout","d":"a","t":"stderr"}`,
	`{"t":"stdout","d":"raw é"}`,
	`{"t":"stdout","d":"tab	inside"}`,
	`{"t":"stdout","d":"bad \x escape"}`,
	`{"t":"stdout","d":"short \u12"}`,
	`{"t":"stdout","d":"trailing backslash\"}`,
	`{"t":"stdout","d":"x"} `,
	`{"d":"x","t":"stdout"}`,
	`{"t":"input","prompt":"? "}`,
	`{"t":"stdout","d":"DEL  and \u007f"}`,
}

// The fast path for output frames must say exactly what encoding/json
// says, or step aside: for every frame it accepts, the event equals
// encoding/json's.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := decodeOutput(line)
		if !ok {
			return
		}
		slow, err := decodeJSON(line)
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast path %+v, encoding/json %+v (%v)", line, fast, slow, err)
		}
	})
}

// The driver's own frames take the fast path (else it would be useless).
func TestDriverOutputFramesTakeTheFastPath(t *testing.T) {
	for _, s := range decodeSeeds[:5] {
		if _, ok := decodeOutput([]byte(s)); !ok {
			t.Errorf("%s: not decoded by the fast path", s)
		}
	}
}

func BenchmarkDecodeOutputFrame(b *testing.B) {
	line := []byte(`{"t":"stdout","d":"line 12345 of the flood: the quick brown fox jumps over the lazy dog\n"}`)
	for _, c := range []struct {
		name   string
		decode func([]byte) (Event, error)
	}{{"fast", decodeEvent}, {"encoding-json", decodeJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.decode(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
