package workspace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is an injectable clock (Options.Now).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts at the real time, as the files' modification times do.
func newClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every reading is later than the last
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// areaOpts are options with a history and a trash beside the workspace
// (in their own temp folder) and a test clock.
func areaOpts(t *testing.T, c *testClock) Options {
	base := t.TempDir()
	return Options{HistoryDir: filepath.Join(base, "history"), TrashDir: filepath.Join(base, "trash"), Now: c.Now}
}

func (f *fixture) history(a Actor, p string) []Version {
	f.t.Helper()
	vs, err := f.ws.History(a, p)
	if err != nil {
		f.t.Fatalf("history of %s: %v", p, err)
	}
	return vs
}

func (f *fixture) version(a Actor, p, id string) string {
	f.t.Helper()
	r, _, err := f.ws.Version(a, p, id)
	if err != nil {
		f.t.Fatalf("version %s of %s: %v", id, p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) save(a Actor, p, content string) FileInfo {
	f.t.Helper()
	fi, err := f.write(a, p, content, "")
	if err != nil {
		f.t.Fatalf("save %s: %v", p, err)
	}
	return fi
}

// contents are the versions' contents, newest first.
func (f *fixture) contents(a Actor, p string) []string {
	f.t.Helper()
	var out []string
	for _, v := range f.history(a, p) {
		out = append(out, f.version(a, p, v.ID))
	}
	return out
}

func TestHistorySavesMakeVersionsIdenticalSavesDoNot(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	const p = "Local/alice/hw1.py"
	first := f.save(alice, p, "print(1)\n")
	if vs := f.history(alice, p); len(vs) != 0 {
		t.Fatalf("a new file has versions: %+v", vs)
	}
	mtime := time.Date(2026, 1, 5, 10, 30, 0, 0, time.UTC)
	if err := os.Chtimes(f.host(p), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	f.save(alice, p, "print(2)\n")
	vs := f.history(alice, p)
	if len(vs) != 1 || vs[0].Size != 9 || vs[0].ETag != first.ETag || !vs[0].SavedAt.Equal(mtime) {
		t.Fatalf("after the second save: %+v (first was %+v)", vs, first)
	}
	if c := f.version(alice, p, vs[0].ID); c != "print(1)\n" {
		t.Fatalf("version content %q", c)
	}

	// Saving the same content again keeps nothing new.
	f.save(alice, p, "print(2)\n")
	if got := f.contents(alice, p); len(got) != 1 {
		t.Fatalf("an identical save made a version: %q", got)
	}
	f.save(alice, p, "print(3)\n")
	if got := f.contents(alice, p); strings.Join(got, "|") != "print(2)\n|print(1)\n" {
		t.Fatalf("versions newest first: %q", got)
	}
	// Content equal to the newest version (a program put it back) is not
	// stored twice.
	f.put(p, "print(2)\n")
	f.save(alice, p, "print(4)\n")
	if got := f.contents(alice, p); strings.Join(got, "|") != "print(2)\n|print(1)\n" {
		t.Fatalf("the newest version was stored again: %q", got)
	}

	// The professor sees a student's history too; the history is outside
	// the home, so its quota and listings never count it.
	if vs := f.history(prof, p); len(vs) != 2 {
		t.Fatalf("professor: %+v", vs)
	}
	entries, err := f.ws.List(alice, "Local/alice")
	if err != nil || len(entries) != 2 {
		t.Fatalf("alice's home lists %+v, %v", entries, err)
	}
	if u, _ := f.ws.Usage("alice"); u != int64(len(welcomePy)+len("print(4)\n")) {
		t.Fatalf("usage %d counts the history", u)
	}
}

func TestHistoryRestoreMakesTheCurrentAVersion(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	const p = "Local/alice/hw1.py"
	f.save(alice, p, "one\n")
	f.save(alice, p, "two\n")
	f.save(alice, p, "three\n")
	vs := f.history(alice, p)
	oldest := vs[len(vs)-1]
	fi, err := f.ws.Restore(alice, p, oldest.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content(p); c != "one\n" || fi.ETag != oldest.ETag || fi.Size != 4 || fi.Path != p {
		t.Fatalf("restored %q, %+v", c, fi)
	}
	if got := f.contents(alice, p); strings.Join(got, "|") != "three\n|two\n|one\n" {
		t.Fatalf("after restoring: %q", got)
	}
	// The professor restores too; unknown and malformed versions are refused.
	if _, err := f.ws.Restore(prof, p, f.history(prof, p)[0].ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content(p); c != "three\n" {
		t.Fatalf("professor restored %q", c)
	}
	_, err = f.ws.Restore(alice, p, "00000000000000000001-"+strings.Repeat("0", 32)+"-4")
	wantCode(t, err, ErrNotFound)
	for _, id := range []string{"", "x", "../../bob", oldest.ID + "/..", strings.ToUpper(oldest.ID), "path",
		strings.TrimSuffix(oldest.ID, "-4"), oldest.ID + "-4", strings.TrimSuffix(oldest.ID, "4") + "04"} {
		_, err := f.ws.Restore(alice, p, id)
		wantCode(t, err, ErrInvalid)
	}
	// Restoring counts against the quota like any save.
	g := newFixture(t, func() Options {
		o := areaOpts(t, newClock())
		o.QuotaBytes = 2048
		return o
	}())
	g.save(alice, p, strings.Repeat("a", 1000))
	g.save(alice, p, "small")
	g.save(alice, "Local/alice/other.py", strings.Repeat("b", 900))
	_, err = g.ws.Restore(alice, p, g.history(alice, p)[0].ID)
	wantCode(t, err, ErrQuota)
	if c, _ := g.content(p); c != "small" {
		t.Fatalf("a refused restore changed the file: %q", c)
	}
}

func TestHistoryBounds(t *testing.T) {
	c := newClock()
	f := newFixture(t, areaOpts(t, c))
	const p = "Local/alice/hw1.py"
	for i := range 61 {
		f.save(alice, p, fmt.Sprintf("v%d\n", i))
	}
	if vs := f.history(alice, p); len(vs) != 60 {
		t.Fatalf("60 young versions: %d kept", len(vs))
	}
	// 15 days later the next save keeps only the newest 50.
	c.advance(15 * 24 * time.Hour)
	f.save(alice, p, "v61\n")
	got := f.contents(alice, p)
	if len(got) != 50 || got[0] != "v60\n" || got[49] != "v11\n" {
		t.Fatalf("after 15 days: %d versions, %q … %q", len(got), got[0], got[len(got)-1])
	}
	dir := filepath.Join(f.opts.HistoryDir, "alice", filepath.Base(histDir("alice", "hw1.py")))
	if names, _ := os.ReadDir(dir); len(names) != 51 { // the versions and the path file
		t.Fatalf("%d files left in the history folder", len(names))
	}
	// Versions younger than 14 days are all kept past 50 (up to 1000).
	c.advance(time.Hour)
	for i := range 60 {
		f.save(alice, p, fmt.Sprintf("w%d\n", i))
	}
	if vs := f.history(alice, p); len(vs) != 61 { // v60, v61 and w0…w58 are young; the old ones are past 50
		t.Fatalf("young versions past 50: %d kept", len(vs))
	}
	// Never more than 1000 per file, however young.
	for i := range 1000 {
		name := fmt.Sprintf("%020d-%032x-1", c.Now().UnixNano()-int64(time.Hour)+int64(i), i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.save(alice, p, "last\n")
	if vs := f.history(alice, p); len(vs) != historyMax || f.version(alice, p, vs[0].ID) != "w59\n" {
		t.Fatalf("the cap: %d versions", len(vs))
	}
}

func TestHistoryPerUserBoundKeepsEachFilesNewestFive(t *testing.T) {
	o := areaOpts(t, newClock())
	o.HistoryBytes = 2000
	o.UsageTTL = -1
	f := newFixture(t, o)
	// An old file with seven versions of 100 bytes, then a busy one.
	for i := range 8 {
		f.save(alice, "Local/alice/old.py", fmt.Sprintf("%-100d", i))
	}
	for i := range 40 {
		f.save(alice, "Local/alice/busy.py", fmt.Sprintf("%-100d", i))
	}
	old, busy := f.history(alice, "Local/alice/old.py"), f.history(alice, "Local/alice/busy.py")
	total := int64(0)
	for _, v := range append(old, busy...) {
		total += v.Size
	}
	if len(old) != historyKeepOver || total > o.HistoryBytes || len(busy) != int(o.HistoryBytes/100)-historyKeepOver {
		t.Fatalf("old keeps %d, busy %d, %d bytes in all (bound %d)", len(old), len(busy), total, o.HistoryBytes)
	}
	if got := f.version(alice, "Local/alice/busy.py", busy[0].ID); strings.TrimSpace(got) != "38" {
		t.Fatalf("the newest busy version is %q", got)
	}
	// Bob's history is his own: alice's bound never touches it.
	f.save(bob, "Local/bob/secret.py", "changed")
	if vs := f.history(bob, "Local/bob/secret.py"); len(vs) != 1 {
		t.Fatalf("bob: %+v", vs)
	}
}

// A crash while a version was being written leaves a hidden temp: it is
// never a version, and it is removed once stale.
func TestHistoryCrashMidVersionLeavesNoHalfVersion(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	const p = "Local/alice/hw1.py"
	f.save(alice, p, "one\n")
	f.save(alice, p, "two\n")
	dir := filepath.Join(f.opts.HistoryDir, filepath.FromSlash(histDir("alice", "hw1.py")))
	tmp := filepath.Join(dir, tempPrefix+"0123456789abcdef")
	if err := os.WriteFile(tmp, []byte("tw"), 0o600); err != nil { // killed mid-copy
		t.Fatal(err)
	}
	if vs := f.history(alice, p); len(vs) != 1 || f.version(alice, p, vs[0].ID) != "one\n" {
		t.Fatalf("with a leftover temp: %+v", vs)
	}
	_, _, err := f.ws.Version(alice, p, filepath.Base(tmp))
	wantCode(t, err, ErrInvalid)
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("a fresh temp (maybe another instance's version being written) was removed: %v", err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	f.save(alice, p, "three\n")
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("a stale temp was left: %v", err)
	}
	if got := f.contents(alice, p); strings.Join(got, "|") != "two\n|one\n" {
		t.Fatalf("versions: %q", got)
	}
	// A history folder whose path file was never written (a crash right
	// after making it) is no history, and the next version repairs it.
	if err := os.Remove(filepath.Join(dir, histPathFile)); err != nil {
		t.Fatal(err)
	}
	if vs := f.history(alice, p); len(vs) != 0 {
		t.Fatalf("without its path file: %+v", vs)
	}
	f.save(alice, p, "four\n")
	if got := f.contents(alice, p); strings.Join(got, "|") != "three\n|two\n|one\n" {
		t.Fatalf("after the repair: %q", got)
	}
}

func TestHistoryIsRefusedLikeTheFile(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	f.save(bob, "Local/bob/secret.py", "second")
	const p = "Local/bob/secret.py"
	id := f.history(bob, p)[0].ID
	_, _, readErr := f.ws.Read(alice, p)
	wantCode(t, readErr, ErrNotFound)
	_, err := f.ws.History(alice, p)
	wantCode(t, err, ErrNotFound)
	if message(err) != message(readErr) {
		t.Fatalf("history says %q, reading says %q", message(err), message(readErr))
	}
	_, _, err = f.ws.Version(alice, p, id)
	wantCode(t, err, ErrNotFound)
	_, err = f.ws.Restore(alice, p, id)
	wantCode(t, err, ErrNotFound)
	for _, q := range []string{"Local/alice/../bob/secret.py", "Local/bob/nothing.py", "Local/carol/x.py"} {
		_, err := f.ws.History(alice, q)
		if err == nil {
			t.Fatalf("alice lists the history of %q", q)
		}
	}
	if c, _ := f.content(p); c != "second" {
		t.Fatalf("bob's file changed: %q", c)
	}
	// Not for course folders (students read them) or folders; not at all
	// without a history folder.
	for _, q := range []string{course + "/week1.py", "Local/alice", "Local", ""} {
		_, err := f.ws.History(prof, q)
		wantCode(t, err, ErrInvalid)
	}
	f.save(prof, course+"/week1.py", "solution removed")
	if entries, _ := os.ReadDir(f.opts.HistoryDir); len(entries) != 1 || entries[0].Name() != "bob" {
		t.Fatalf("history area holds %v", entries)
	}
	g := newFixture(t, Options{})
	g.save(alice, "Local/alice/welcome.py", "x")
	_, err = g.ws.History(alice, "Local/alice/welcome.py")
	wantCode(t, err, ErrInvalid)
	inside := filepath.Join(t.TempDir(), "ide")
	if _, err := Open(inside, Options{HistoryDir: filepath.Join(inside, "Lecture Notes", "h")}); err == nil {
		t.Fatal("a history folder inside the workspace was accepted")
	}
}

// Links a program planted in a home are replaced by a save, never
// followed: nothing they point to becomes a version.
func TestHistoryNeverFollowsLinks(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	plantLinks(t, f)
	f.save(alice, "Local/alice/mine.py", "mine")
	f.symlink("mine.py", "Local/alice/inner.py")
	for _, l := range append([]string{"inner.py"}, links...) {
		p := "Local/alice/" + l
		for _, q := range []string{p + "/secret.py", p} {
			f.write(alice, q, "overwritten", "") // replaces the link itself, or is refused
			if vs, err := f.ws.History(alice, q); err == nil && len(vs) != 0 {
				t.Fatalf("%s has versions %+v", q, vs)
			}
		}
	}
	if c, _ := f.content("Local/alice/mine.py"); c != "mine" {
		t.Fatalf("a link's target changed: %q", c)
	}
	err := filepath.Walk(f.opts.HistoryDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("a link in the history area: %s", p)
		}
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			if s := string(b); strings.Contains(s, "secret") || strings.Contains(s, "root:") || s == "mine" {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Two instances (two Workspaces on one data volume) keep and see the same
// versions: nothing is kept only in memory.
func TestHistoryTwoInstances(t *testing.T) {
	o := areaOpts(t, newClock())
	f := newFixture(t, o)
	other, err := Open(f.dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	const p = "Local/alice/hw1.py"
	f.save(alice, p, "one")
	f.save(alice, p, "two")
	vs, err := other.History(alice, p)
	if err != nil || len(vs) != 1 {
		t.Fatalf("the other instance sees %+v, %v", vs, err)
	}
	if _, err := other.Write(alice, p, strings.NewReader("three"), ""); err != nil {
		t.Fatal(err)
	}
	if got := f.contents(alice, p); strings.Join(got, "|") != "two|one" {
		t.Fatalf("the first instance sees %q", got)
	}
	if _, err := other.Restore(alice, p, vs[0].ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content(p); c != "one" {
		t.Fatalf("restored on the other instance: %q", c)
	}
	// Both save at once: every replaced content is kept once, in order.
	var wg sync.WaitGroup
	for i := range 10 {
		ws := f.ws
		if i%2 == 1 {
			ws = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ws.Write(alice, p, strings.NewReader(fmt.Sprintf("c%d", i)), ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, v := range f.history(alice, p) {
		if ids[v.ID] {
			t.Fatalf("version %s twice", v.ID)
		}
		ids[v.ID] = true
	}
	// Two saves on two instances may replace the same content at once
	// (each keeps it, or one finds it kept already), so some may be fewer.
	if len(ids) < 4 {
		t.Fatalf("%d versions after 10 more saves", len(ids))
	}
}

func TestHistoryFollowsARename(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	f.save(alice, "Local/alice/a.py", "a1")
	f.save(alice, "Local/alice/a.py", "a2")
	if err := f.ws.Move(alice, "Local/alice/a.py", "Local/alice/b.py"); err != nil {
		t.Fatal(err)
	}
	if vs := f.history(alice, "Local/alice/a.py"); len(vs) != 0 {
		t.Fatalf("the old path keeps %+v", vs)
	}
	if got := f.contents(alice, "Local/alice/b.py"); strings.Join(got, "|") != "a1" {
		t.Fatalf("the new path has %q", got)
	}
	f.save(alice, "Local/alice/b.py", "b3")
	if got := f.contents(alice, "Local/alice/b.py"); strings.Join(got, "|") != "a2|a1" {
		t.Fatalf("after a save at the new path: %q", got)
	}
	// A folder's files take theirs along.
	f.mkdir("Local/alice/week1/sub")
	f.save(alice, "Local/alice/week1/sub/x.py", "x1")
	f.save(alice, "Local/alice/week1/sub/x.py", "x2")
	f.save(alice, "Local/alice/week1.py", "w1")
	f.save(alice, "Local/alice/week1.py", "w2")
	if err := f.ws.Move(alice, "Local/alice/week1", "Local/alice/week2"); err != nil {
		t.Fatal(err)
	}
	if got := f.contents(alice, "Local/alice/week2/sub/x.py"); strings.Join(got, "|") != "x1" {
		t.Fatalf("moved folder: %q", got)
	}
	if got := f.contents(alice, "Local/alice/week1.py"); strings.Join(got, "|") != "w1" {
		t.Fatalf("a file beside the folder was taken along: %q", got)
	}
	// Between homes (a teacher's move) the history stays at the old path.
	if err := f.ws.Move(prof, "Local/alice/b.py", "Local/bob/b.py"); err != nil {
		t.Fatal(err)
	}
	if vs := f.history(prof, "Local/bob/b.py"); len(vs) != 0 {
		t.Fatalf("bob got alice's history: %+v", vs)
	}
	if vs := f.history(alice, "Local/alice/b.py"); len(vs) != 2 {
		t.Fatalf("alice's old path: %+v", vs)
	}
	if items, _ := f.ws.Trash(alice, ""); len(items) != 0 {
		t.Fatalf("a move put the original into the trash: %+v", items)
	}
}

func TestHistoryKeepsNothingASaveCouldNotWriteBack(t *testing.T) {
	o := areaOpts(t, newClock())
	o.MaxFileBytes = 1024
	f := newFixture(t, o)
	const p = "Local/alice/out.txt"
	f.put(p, strings.Repeat("x", 4096)) // written by a program
	f.save(alice, p, "small")
	if vs := f.history(alice, p); len(vs) != 0 {
		t.Fatalf("an over-size content was kept: %+v", vs)
	}
	ids := []string{}
	for _, s := range []string{"a", "b"} {
		f.save(alice, p, s)
	}
	for _, v := range f.history(alice, p) {
		ids = append(ids, v.ID)
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i] > ids[j] }) || len(ids) != 2 {
		t.Fatalf("ids %q", ids)
	}
}
