package workspace

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkWrite4KiB is one autosave: a 4 KiB file replaced atomically (two
// fsyncs) in a home that already holds 200 files.
func BenchmarkWrite4KiB(b *testing.B) {
	f := newFixture(b, Options{})
	for i := range 200 {
		f.put(fmt.Sprintf("Local/alice/f%03d.py", i), "print('x')\n")
	}
	data := bytes.Repeat([]byte("x"), 4096)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := f.ws.Write(alice, "Local/alice/hw1.py", bytes.NewReader(data), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite4KiBIfMatch adds the conditional check (hashing the old file).
func BenchmarkWrite4KiBIfMatch(b *testing.B) {
	f := newFixture(b, Options{})
	data := bytes.Repeat([]byte("x"), 4096)
	fi, err := f.ws.Write(alice, "Local/alice/hw1.py", bytes.NewReader(data), "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if fi, err = f.ws.Write(alice, "Local/alice/hw1.py", bytes.NewReader(data), fi.ETag); err != nil {
			b.Fatal(err)
		}
	}
}
