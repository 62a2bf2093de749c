package workspace

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// search runs a search that must succeed.
func (f *fixture) search(a Actor, p, q string) SearchResult {
	f.t.Helper()
	res, err := f.ws.Search(a, p, q, SearchOptions{})
	if err != nil {
		f.t.Fatalf("search %q in %q as %s: %v", q, p, a.Username, err)
	}
	return res
}

// paths lists the matches as "type path:line:column".
func (r SearchResult) paths() []string {
	out := []string{}
	for _, m := range r.Matches {
		out = append(out, fmt.Sprintf("%s %s:%d:%d", m.Type, m.Path, m.Line, m.Column))
	}
	return out
}

func TestSearchNeverFollowsLinks(t *testing.T) {
	f := newFixture(t, Options{})
	outside := plantLinks(t, f)
	f.put("Local/alice/mine.py", "# not a secret\n")
	if err := syscall.Mkfifo(f.host("Local/alice/secret.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"secret", "answers", "bob", "root:", "outside", "passwd", "week 1"} {
		res := f.search(alice, "Local/alice", q)
		for _, m := range res.Matches {
			if m.Path != "Local/alice/mine.py" {
				t.Errorf("search %q found %+v through a link or special file", q, m)
			}
			if strings.Contains(m.Text, "answers") || strings.Contains(m.Text, "root:") || strings.Contains(m.Text, "outside secret") {
				t.Fatalf("search %q leaked %q", q, m.Text)
			}
		}
	}
	// Only mine.py (and welcome.py) are files of alice's: links are not
	// counted as files, let alone read.
	if res := f.search(alice, "Local/alice", "secret"); !reflect.DeepEqual(res.paths(), []string{"line Local/alice/mine.py:1:9"}) || res.FilesSearched != 2 {
		t.Fatalf("got %v, %d files", res.paths(), res.FilesSearched)
	}
	// A link (or a path through one) is not a folder to search from.
	for _, l := range links {
		for _, p := range []string{"Local/alice/" + l, "Local/alice/" + l + "/sub"} {
			res, err := f.ws.Search(alice, p, "secret", SearchOptions{})
			if err == nil {
				t.Fatalf("search from %q succeeded: %v", p, res.paths())
			}
			if message(err) == "" {
				t.Fatalf("search from %q: no message: %v", p, err)
			}
		}
	}
	// A professor searching everything does not go through them either: bob's
	// file is found once, at its own path.
	res := f.search(prof, "", "answers")
	if got := res.paths(); !reflect.DeepEqual(got, []string{"line Local/bob/secret.py:1:14", "line Local/bob/sub/more.py:1:14"}) {
		t.Fatalf("professor's search of the root: %v", got)
	}
	if b, _ := os.ReadFile(outside); string(b) != "outside secret\n" {
		t.Fatalf("outside file changed: %q", b)
	}
}

func TestSearchAnotherHomeIsNotFound(t *testing.T) {
	f := newFixture(t, Options{})
	for _, p := range []string{"Local/bob", "Local/bob/sub", "Local/bob/secret.py", "Local/nobody", "Local/BOB"} {
		_, listErr := f.ws.List(alice, p)
		res, err := f.ws.Search(alice, p, "secret", SearchOptions{})
		wantCode(t, err, ErrNotFound)
		if len(res.Matches) != 0 {
			t.Fatalf("search of %q answered %v", p, res.paths())
		}
		if p != "Local/bob/secret.py" && message(err) != message(listErr) {
			t.Errorf("search of %q says %q, listing it says %q", p, message(err), message(listErr))
		}
	}
	for _, p := range []string{"", "Local"} {
		_, err := f.ws.Search(alice, p, "secret", SearchOptions{})
		wantCode(t, err, ErrInvalid)
		if message(err) != "Search in your own folder or a course folder." {
			t.Errorf("search of %q as a student: %q", p, message(err))
		}
	}
	for _, p := range []string{"Local/alice/../bob", "Local//bob", "/Local/bob", `Local\bob`, "./Local/bob"} {
		_, err := f.ws.Search(alice, p, "secret", SearchOptions{})
		wantCode(t, err, ErrInvalid)
	}
	// Students may search course material; professors anything.
	if got := f.search(alice, course, "WEEK").paths(); !reflect.DeepEqual(got, []string{"name " + course + "/week1.py:0:1", "line " + course + "/week1.py:1:8"}) {
		t.Fatalf("student searching the course: %v", got)
	}
	if got := f.search(prof, "Local/bob", "secret").paths(); !reflect.DeepEqual(got, []string{
		"name Local/bob/secret.py:0:1", "line Local/bob/secret.py:1:7", "line Local/bob/sub/more.py:1:7"}) {
		t.Fatalf("professor searching bob: %v", got)
	}
	if got := f.search(prof, "Local", "secret").paths(); len(got) != 3 {
		t.Fatalf("professor searching Local: %v", got)
	}
	// A file is not a folder.
	_, err := f.ws.Search(prof, "Local/bob/secret.py", "secret", SearchOptions{})
	wantCode(t, err, ErrInvalid)
}

func TestSearchSkipsBinaryAndLargeFiles(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("Local/alice/nul.bin", "needle\x00\n")
	f.put("Local/alice/latin1.txt", "needle caf\xe9\n")
	f.put("Local/alice/late-nul.txt", strings.Repeat("x", searchSniffBytes)+"\x00\nneedle\n") // NUL only after 8 KiB: text
	f.put("Local/alice/big.txt", "needle\n"+strings.Repeat("x", searchMaxFileBytes-6))        // 1 MiB + 1
	f.put("Local/alice/fits.txt", strings.Repeat("x", searchMaxFileBytes-7)+"\nneedle")       // exactly 1 MiB
	f.put("Local/alice/needle-in-name.bin", "\x00\x01\x02")
	f.put("Local/alice/"+tempPrefix+"needle", "needle\n") // a save in progress
	f.put("Local/alice/empty.txt", "")
	res := f.search(alice, "Local/alice", "needle")
	want := []string{
		"name Local/alice/needle-in-name.bin:0:1",
		"line Local/alice/fits.txt:2:1",
		"line Local/alice/late-nul.txt:2:1",
	}
	if got := res.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if res.Truncated || res.FilesSearched != 8 { // the temp is not a file of alice's
		t.Fatalf("truncated %v, files %d", res.Truncated, res.FilesSearched)
	}
}

func TestSearchCapsMatches(t *testing.T) {
	f := newFixture(t, Options{})
	os.Remove(f.host("Local/alice/welcome.py"))
	f.put("Local/alice/exact.py", strings.Repeat("print(1)\n", searchMaxMatches))
	res := f.search(alice, "Local/alice", "print")
	if len(res.Matches) != searchMaxMatches || res.Truncated {
		t.Fatalf("exactly %d: %d matches, truncated %v", searchMaxMatches, len(res.Matches), res.Truncated)
	}
	f.put("Local/alice/more.py", "print(2)\n")
	res = f.search(alice, "Local/alice", "print")
	if len(res.Matches) != searchMaxMatches || !res.Truncated {
		t.Fatalf("one more: %d matches, truncated %v", len(res.Matches), res.Truncated)
	}
	for i, m := range res.Matches {
		if m.Path != "Local/alice/exact.py" || m.Line != i+1 {
			t.Fatalf("match %d: %+v", i, m)
		}
	}
}

func TestSearchCapsFilesBytesAndTime(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/many")
	for i := range searchMaxFiles {
		f.put(fmt.Sprintf("Local/alice/many/f%04d.txt", i), "x\n")
	}
	// welcome.py and 5000 files: one too many.
	res := f.search(alice, "Local/alice", "needle")
	if res.FilesSearched != searchMaxFiles || !res.Truncated {
		t.Fatalf("files: %d searched, truncated %v", res.FilesSearched, res.Truncated)
	}

	f.mkdir("Local/bob/big")
	chunk := strings.Repeat("x", searchMaxFileBytes-8) + "\nneedle\n"
	for i := range searchMaxReadBytes/searchMaxFileBytes + 1 {
		f.put(fmt.Sprintf("Local/bob/big/%02d.txt", i), chunk)
	}
	res = f.search(prof, "Local/bob/big", "needle")
	if len(res.Matches) != searchMaxReadBytes/searchMaxFileBytes || !res.Truncated {
		t.Fatalf("bytes: %d matches, truncated %v", len(res.Matches), res.Truncated)
	}

	res, err := f.ws.Search(prof, "", "x", SearchOptions{Deadline: time.Now().Add(-time.Second)})
	if err != nil || !res.Truncated || len(res.Matches) != 0 {
		t.Fatalf("past deadline: %v %v %v", res.paths(), res.Truncated, err)
	}
	done := make(chan struct{})
	close(done)
	res, err = f.ws.Search(prof, "", "x", SearchOptions{Done: done})
	if err != nil || !res.Truncated || len(res.Matches) != 0 {
		t.Fatalf("asker gone: %v %v %v", res.paths(), res.Truncated, err)
	}
}

func TestSearchIgnoresCase(t *testing.T) {
	f := newFixture(t, Options{})
	os.Remove(f.host("Local/alice/welcome.py"))
	f.put("Local/alice/a.py", "Print('Hello')\nÉCOLE\nThe \u212Aelvin sign\nstraße\n")
	for q, want := range map[string][]string{
		"print(":  {"line Local/alice/a.py:1:1"},
		"HELLO":   {"line Local/alice/a.py:1:8"},
		"école":   {"line Local/alice/a.py:2:1"},
		"KELVIN":  {"line Local/alice/a.py:3:5"}, // the Kelvin sign folds like K
		"STRASSE": nil,                           // case folding is rune by rune
		"STRAẞE":  {"line Local/alice/a.py:4:1"},
		"A.PY":    {"name Local/alice/a.py:0:1"},
		"p.*t":    nil, // not a pattern
	} {
		got := f.search(alice, "Local/alice", q).paths()
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("search %q: got %v, want %v", q, got, want)
		}
	}
}

func TestSearchColumnsAndText(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("Local/alice/u.py", "\ufeffnamé = 'ünïcödé wörld' # wörld again\r\n\tnaïve = 1\n")
	res := f.search(alice, "Local/alice", "WÖRLD")
	if len(res.Matches) != 1 {
		t.Fatalf("got %v", res.paths())
	}
	m := res.Matches[0]
	// The BOM is not a column; the first occurrence counts; the CR is not text.
	if m.Line != 1 || m.Column != 17 || m.Text != "namé = 'ünïcödé wörld' # wörld again" {
		t.Fatalf("got %+v", m)
	}
	if m := f.search(alice, "Local/alice", "ïve").Matches[0]; m.Line != 2 || m.Column != 4 || m.Text != "\tnaïve = 1" {
		t.Fatalf("got %+v", m)
	}

	// A long line is cut around the match, to at most 200 runes.
	long := strings.Repeat("é", 1000) + "NEEDLE" + strings.Repeat("ü", 1000)
	f.put("Local/alice/long.txt", long+"\n")
	m = f.search(alice, "Local/alice", "needle").Matches[0]
	if m.Column != 1001 || utf8.RuneCountInString(m.Text) != searchSnippetRunes || !strings.Contains(m.Text, "NEEDLE") || !utf8.ValidString(m.Text) {
		t.Fatalf("long line: column %d, %d runes %q", m.Column, utf8.RuneCountInString(m.Text), m.Text)
	}
	f.put("Local/alice/long.txt", "NEEDLE"+strings.Repeat("ü", 1000)+"\n"+strings.Repeat("é", 1000)+"NEEDLE\n")
	res = f.search(alice, "Local/alice", "needle")
	if a, b := res.Matches[0], res.Matches[1]; !strings.HasPrefix(a.Text, "NEEDLE") || !strings.HasSuffix(b.Text, "NEEDLE") ||
		utf8.RuneCountInString(a.Text) != searchSnippetRunes || utf8.RuneCountInString(b.Text) != searchSnippetRunes || b.Column != 1001 {
		t.Fatalf("cut at the ends: %+v", res.Matches)
	}
}

func TestSearchNamesFirstThenPathAndLine(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/hw")
	f.put("Local/alice/hw/b.py", "homework = 2\n")
	f.put("Local/alice/hw/Homework.py", "x = 1\n# homework\n")
	f.put("Local/alice/a.py", "# HOMEWORK\n\n# Homework again\n")
	f.mkdir("Local/alice/homework-folder") // folders are not matched by name
	res := f.search(alice, "Local/alice", " homework ")
	want := []string{
		"name Local/alice/hw/Homework.py:0:1",
		"line Local/alice/a.py:1:3",
		"line Local/alice/a.py:3:3",
		"line Local/alice/hw/Homework.py:2:3",
		"line Local/alice/hw/b.py:1:1",
	}
	if got := res.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if res.Query != "homework" || res.Path != "Local/alice" || res.Matches[0].Text != "Homework.py" {
		t.Fatalf("got %+v", res)
	}
	// The answer's JSON is the API's shape.
	b, _ := json.Marshal(res)
	var shape map[string]any
	json.Unmarshal(b, &shape)
	for _, k := range []string{"query", "path", "matches", "truncated", "files_searched"} {
		if _, ok := shape[k]; !ok {
			t.Fatalf("no %q in %s", k, b)
		}
	}
	if !strings.Contains(string(b), `{"path":"Local/alice/hw/Homework.py","type":"name","line":0,"column":1,"text":"Homework.py"}`) {
		t.Fatalf("match shape: %s", b)
	}
	// Nothing found is an empty list, not null.
	if b, _ := json.Marshal(f.search(alice, "Local/alice", "zzz")); !strings.Contains(string(b), `"matches":[]`) {
		t.Fatalf("no matches: %s", b)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	f := newFixture(t, Options{})
	for _, q := range []string{"", "   ", "\t\n", strings.Repeat("a", searchMaxQueryBytes+1), strings.Repeat("é", searchMaxQueryBytes/2) + "a", "a\nb", "caf\xe9"} {
		_, err := f.ws.Search(alice, "Local/alice", q, SearchOptions{})
		wantCode(t, err, ErrInvalid)
	}
	// 200 bytes, and spaces around it trimmed, are fine.
	if _, err := f.ws.Search(alice, "Local/alice", "  "+strings.Repeat("é", searchMaxQueryBytes/2)+"  ", SearchOptions{}); err != nil {
		t.Fatal(err)
	}
}
