package workspace

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pythonide/pythonide/internal/fault"
)

// The bounds of one search. They keep a search cheap enough to run from
// the file tree while a class works: whatever a home holds, a search reads
// at most searchMaxReadBytes and answers within searchTimeout.
const (
	searchMaxQueryBytes = 200      // the query, after trimming spaces
	searchMaxMatches    = 200      // matches answered; one more sets Truncated
	searchMaxFileBytes  = 1 << 20  // larger files are matched by name only
	searchMaxFiles      = 5000     // files looked at; one more sets Truncated
	searchMaxReadBytes  = 20 << 20 // content read in all; the file that would pass it sets Truncated
	searchTimeout       = 2 * time.Second
	searchSniffBytes    = 8 << 10 // a NUL in the first 8 KiB marks a file as binary
	searchSnippetRunes  = 200     // a match's Text is at most this many runes of its line
)

// SearchOptions tune one search. Zero values take the defaults.
type SearchOptions struct {
	// Deadline is when the search stops and answers what it has found, with
	// Truncated set. Zero: two seconds from the call.
	Deadline time.Time
	// Done, when closed (the asker has gone), stops the search the same way.
	Done <-chan struct{}
}

// SearchMatch is one hit: a file whose name contains the query (Type
// "name", Line 0, Text the file's name), or one line of a text file that
// contains it (Type "line", Line counted from 1). Column is the 1-based
// position in runes (characters, not bytes) of the first occurrence, in the
// name or in the whole line. Text is that name or line without its line
// ending, cut to at most 200 runes around the occurrence when longer (so
// Column counts from the start of the line, not of Text).
type SearchMatch struct {
	Path   string `json:"path"`
	Type   string `json:"type"` // "name" | "line"
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Text   string `json:"text"`
}

// SearchResult is a search's answer. Matches are sorted: name matches
// first, then by path and line. Truncated says that the search stopped at
// one of its bounds (matches, files, bytes read, time), so there may be
// more. FilesSearched counts the files looked at (their names, and their
// text unless binary or larger than 1 MiB).
type SearchResult struct {
	Query         string        `json:"query"`
	Path          string        `json:"path"`
	Matches       []SearchMatch `json:"matches"`
	Truncated     bool          `json:"truncated"`
	FilesSearched int           `json:"files_searched"`
}

// Search looks under folder p for files whose name contains query and for
// lines of text files that contain it: a plain substring, ignoring case
// (Unicode case folding), never a pattern. The query is trimmed of spaces
// and must then be 1 to 200 bytes on one line.
//
// p is a folder the actor may read: their home or a course folder (or a
// folder inside one), and for a professor any folder, Local and the
// workspace root included. A student is refused the root and Local (rather
// than searching only the parts of them they may read) and gets "not found"
// for another student's home, as when listing it.
//
// Links are never followed, not even inside the folder: links, special
// files, hidden temps and names the API itself refuses are skipped, and so
// are folders nested deeper than 128 levels and anything that cannot be
// read or vanishes during the walk. A file is text if it is at most 1 MiB,
// valid UTF-8 and has no NUL byte in its first 8 KiB; other files are
// matched by name only. Each line matches once, at its first occurrence.
func (w *Workspace) Search(a Actor, p, query string, opts SearchOptions) (SearchResult, error) {
	l, err := resolve(a, p, readAccess)
	if err != nil {
		return SearchResult{}, err
	}
	q := strings.TrimSpace(query)
	switch {
	case q == "":
		return SearchResult{}, fault.New(ErrInvalid, "Type something to search for.")
	case len(q) > searchMaxQueryBytes:
		return SearchResult{}, fault.New(ErrInvalid, "The search text is too long: at most %d characters (bytes) can be searched for.", searchMaxQueryBytes)
	case !utf8.ValidString(q):
		return SearchResult{}, fault.New(ErrInvalid, "The search text is not valid UTF-8 text.")
	case strings.ContainsAny(q, "\r\n"):
		return SearchResult{}, fault.New(ErrInvalid, "Search for text on one line: lines are searched one at a time.")
	}
	if !a.Professor && (l.kind == kindRoot || l.kind == kindLocal) {
		return SearchResult{}, fault.New(ErrInvalid, "Search in your own folder or a course folder.")
	}
	dir, release, err := w.searchRoot(l)
	if err != nil {
		return SearchResult{}, err
	}
	defer release()

	s := &searcher{
		fold:     appendFold(nil, []byte(q)),
		qRunes:   utf8.RuneCountInString(q),
		deadline: opts.Deadline,
		done:     opts.Done,
		res:      SearchResult{Query: q, Path: p, Matches: []SearchMatch{}},
	}
	if s.deadline.IsZero() {
		s.deadline = time.Now().Add(searchTimeout)
	}
	infos, err := readDirInfos(dir, ".")
	if err != nil {
		return SearchResult{}, mapErr(err, p)
	}
	s.walk(dir, infos, p, 0)
	sort.SliceStable(s.res.Matches, func(i, j int) bool {
		mi, mj := s.res.Matches[i], s.res.Matches[j]
		if (mi.Type == "name") != (mj.Type == "name") {
			return mi.Type == "name"
		}
		if mi.Path != mj.Path {
			return mi.Path < mj.Path
		}
		return mi.Line < mj.Line
	})
	return s.res, nil
}

// searchRoot opens the folder a search starts from: the root or Local
// themselves, or a real folder (not a link) inside a home or course folder.
func (w *Workspace) searchRoot(l loc) (*os.Root, func(), error) {
	switch l.kind {
	case kindRoot:
		return w.data, func() {}, nil
	case kindLocal:
		return w.local, func() {}, nil
	}
	r, name, release, err := w.container(l)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, nil, mapErr(err, l.path)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, nil, fault.New(ErrInvalid, "%q is a link, not a folder; search the folder it is in.", l.path)
	case !fi.IsDir():
		return nil, nil, fault.New(ErrInvalid, "%q is a file, not a folder.", l.path)
	}
	sub, err := openDirChecked(r, name)
	if err != nil {
		return nil, nil, mapErr(err, l.path)
	}
	return sub, func() { sub.Close() }, nil
}

// searcher is one search's state as it walks.
type searcher struct {
	fold     []byte // the query, case-folded
	qRunes   int
	deadline time.Time
	done     <-chan struct{}
	res      SearchResult
	read     int64  // content bytes read so far
	buf      []byte // one file's content, reused
	line     []byte // one line, case-folded, reused
	stopped  bool
}

// stop ends the search at a bound: what was found is answered, truncated.
func (s *searcher) stop() {
	s.stopped = true
	s.res.Truncated = true
}

// expired stops the search once its deadline has passed or its asker left.
func (s *searcher) expired() bool {
	if s.stopped {
		return true
	}
	select {
	case <-s.done:
		s.stop()
		return true
	default:
	}
	if time.Now().After(s.deadline) {
		s.stop()
		return true
	}
	return false
}

// walk searches the entries infos of folder r, whose workspace path is dir,
// in name order (so that what a truncated search finds does not depend on
// the order of the disk). Never following a link: folders are entered only
// through openDirChecked and files opened only as the file listed.
func (s *searcher) walk(r *os.Root, infos []fs.FileInfo, dir string, depth int) {
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
	for _, fi := range infos {
		if s.expired() {
			return
		}
		name := fi.Name()
		if nameProblem(name) != "" {
			continue // hidden temps, and names no path can reach
		}
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		switch {
		case fi.IsDir():
			if depth >= maxDepth {
				continue
			}
			sub, err := openDirChecked(r, name)
			if err != nil {
				continue // vanished, swapped for a link, or unreadable
			}
			if sinfos, err := readDirInfos(sub, "."); err == nil {
				s.walk(sub, sinfos, p, depth+1)
			}
			sub.Close()
		case fi.Mode().IsRegular():
			s.file(r, fi, p)
		}
		// Links, FIFOs, sockets and devices are skipped.
	}
}

// file searches one regular file's name and, if it is text, its lines.
func (s *searcher) file(r *os.Root, fi fs.FileInfo, p string) {
	if s.res.FilesSearched >= searchMaxFiles {
		s.stop()
		return
	}
	s.res.FilesSearched++
	name := fi.Name()
	s.line = appendFold(s.line[:0], []byte(name))
	if i := bytes.Index(s.line, s.fold); i >= 0 {
		col := utf8.RuneCount(s.line[:i])
		if !s.add(SearchMatch{Path: p, Type: "name", Column: col + 1, Text: snippet(name, col, s.qRunes)}) {
			return
		}
	}
	if fi.Size() > searchMaxFileBytes || fi.Size() == 0 {
		return
	}
	if s.read+fi.Size() > searchMaxReadBytes {
		s.stop()
		return
	}
	f, _, err := openRegular(r, name, fi)
	if err != nil {
		return // vanished, swapped for something else, or unreadable
	}
	if s.buf == nil {
		s.buf = make([]byte, searchMaxFileBytes+1)
	}
	n, err := io.ReadFull(f, s.buf)
	f.Close()
	s.read += int64(n)
	if n > searchMaxFileBytes || (err != nil && err != io.EOF && err != io.ErrUnexpectedEOF) {
		return // grew past the limit since it was listed, or failed
	}
	s.lines(s.buf[:n], p)
}

// lines searches text content, if it is text.
func (s *searcher) lines(b []byte, p string) {
	if bytes.IndexByte(b[:min(len(b), searchSniffBytes)], 0) >= 0 || !utf8.Valid(b) {
		return // binary
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff")) // a byte order mark is not part of line 1
	for n := 1; len(b) > 0; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		s.line = appendFold(s.line[:0], line)
		i := bytes.Index(s.line, s.fold)
		if i < 0 {
			continue
		}
		col := utf8.RuneCount(s.line[:i])
		if !s.add(SearchMatch{Path: p, Type: "line", Line: n, Column: col + 1, Text: snippet(string(line), col, s.qRunes)}) {
			return
		}
	}
}

// add keeps a match, or stops the search if it is one too many.
func (s *searcher) add(m SearchMatch) bool {
	if len(s.res.Matches) >= searchMaxMatches {
		s.stop()
		return false
	}
	s.res.Matches = append(s.res.Matches, m)
	return true
}

// snippet is text cut to at most searchSnippetRunes runes around the
// occurrence of qRunes runes that starts at rune col.
func snippet(text string, col, qRunes int) string {
	n := utf8.RuneCountInString(text)
	if n <= searchSnippetRunes {
		return text
	}
	start := max(0, col-(searchSnippetRunes-qRunes)/2)
	start = min(start, n-searchSnippetRunes)
	from, to, i := len(text), len(text), 0
	for off := range text {
		if i == start {
			from = off
		}
		if i == start+searchSnippetRunes {
			to = off
			break
		}
		i++
	}
	return text[from:to]
}

// appendFold appends b case-folded to dst, rune by rune: every rune becomes
// the smallest of the runes it equals ignoring case (what strings.EqualFold
// equates), so "K", "k" and the Kelvin sign all fold alike. Folding keeps
// the number of runes, so a rune position in the folded text is the same
// position in the original.
func appendFold(dst, b []byte) []byte {
	for len(b) > 0 {
		if c := b[0]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		dst = utf8.AppendRune(dst, foldRune(r))
		b = b[size:]
	}
	return dst
}

// foldRune is the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}
