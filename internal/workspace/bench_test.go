package workspace

import (
	"bytes"
	"fmt"
	"strings"
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

// BenchmarkSearch is one search from the tree: a student's typical home
// (200 files of 2 KiB in 10 folders) and a home at the search's bounds
// (6 000 files of 4 KiB: 5 000 looked at, 20 MiB read), for a word that is
// on one line of one file in 50 (fewer matches than the answer's bound, so
// the whole walk is timed).
func BenchmarkSearch(b *testing.B) {
	for _, c := range []struct {
		name         string
		files, bytes int
	}{{"typical", 200, 2 << 10}, {"full", 6000, 4 << 10}} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, Options{})
			line := "total = total + value  # a line of a student's program\n"
			body := strings.Repeat(line, c.bytes/len(line))
			for i := range c.files {
				dir := fmt.Sprintf("Local/alice/week%02d", i%10)
				if i < 10 {
					f.mkdir(dir)
				}
				content := body
				if i%50 == 7 {
					content = "answer = 42\n" + body
				}
				f.put(fmt.Sprintf("%s/f%04d.py", dir, i), content)
			}
			var res SearchResult
			for b.Loop() {
				var err error
				if res, err = f.ws.Search(alice, "Local/alice", "ANSWER", SearchOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			if len(res.Matches) == 0 {
				b.Fatal("no match")
			}
			b.ReportMetric(float64(res.FilesSearched), "files")
			b.ReportMetric(float64(len(res.Matches)), "matches")
		})
	}
}
