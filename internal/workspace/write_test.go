package workspace

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// failingReader gives n bytes, then fails like a dropped connection.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'X'
	}
	r.n -= k
	return k, nil
}

// noTemps fails if a hidden temp is left in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			t.Fatalf("temp left behind: %s", de.Name())
		}
	}
}

func TestWriteIsAtomic(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("Local/alice/hw1.py", "old content\n")
	_, err := f.ws.Write(alice, "Local/alice/hw1.py", &failingReader{n: 100_000}, "")
	wantCode(t, err, ErrInvalid)
	if c, _ := f.content("Local/alice/hw1.py"); c != "old content\n" {
		t.Fatalf("content after a failed write = %.40q", c)
	}
	noTemps(t, f.host("Local/alice"))

	// A new file that fails is not created at all.
	_, err = f.ws.Write(alice, "Local/alice/new.py", &failingReader{n: 10}, "")
	if err == nil || f.exists("Local/alice/new.py") {
		t.Fatalf("failed new file: err %v, exists %v", err, f.exists("Local/alice/new.py"))
	}
	noTemps(t, f.host("Local/alice"))
}

func TestWriteResult(t *testing.T) {
	f := newFixture(t, Options{})
	fi, err := f.write(alice, "Local/alice/hw1.py", "print(1)\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Path != "Local/alice/hw1.py" || fi.Size != 9 || fi.Mtime.IsZero() || len(fi.ETag) != 34 || fi.ETag[0] != '"' {
		t.Fatalf("FileInfo = %+v", fi)
	}
	st, err := os.Stat(f.host("Local/alice/hw1.py"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v, %v", st.Mode(), err)
	}
	c, rfi, err := f.read(alice, "Local/alice/hw1.py")
	if err != nil || c != "print(1)\n" || rfi.ETag != fi.ETag {
		t.Fatalf("read back %q etag %s (write gave %s), %v", c, rfi.ETag, fi.ETag, err)
	}
	_, err = f.write(alice, "Local/alice/missing/hw1.py", "x", "")
	wantCode(t, err, ErrNotFound)
	_, err = f.write(alice, "Local/alice", "x", "")
	wantCode(t, err, ErrDenied)
	f.mkdir("Local/alice/dir")
	_, err = f.write(alice, "Local/alice/dir", "x", "")
	wantCode(t, err, ErrExists)
	_, _, err = f.read(alice, "Local/alice/dir")
	wantCode(t, err, ErrInvalid)
}

func TestIfMatch(t *testing.T) {
	f := newFixture(t, Options{})
	v1, err := f.write(alice, "Local/alice/a.py", "v1", "")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.write(alice, "Local/alice/a.py", "v2", v1.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if v2.ETag == v1.ETag {
		t.Fatal("two contents, one ETag")
	}
	tests := []struct {
		name, path, ifMatch string
		ok                  bool
	}{
		{"stale", "Local/alice/a.py", v1.ETag, false},
		{"current", "Local/alice/a.py", v2.ETag, true},
		{"bare tag", "Local/alice/a.py", strings.Trim(v2.ETag, `"`), true},
		{"in a list", "Local/alice/a.py", `"nope", ` + v2.ETag, true},
		{"weak never matches", "Local/alice/a.py", "W/" + v2.ETag, false},
		{"star on existing", "Local/alice/a.py", "*", true},
		{"star on missing", "Local/alice/none.py", "*", false},
		{"tag on missing", "Local/alice/none.py", v2.ETag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Rewriting the same content keeps the ETag, so each case starts at v2.
			_, err := f.write(alice, tt.path, "v2", tt.ifMatch)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, ErrStale)
			if f.exists("Local/alice/none.py") {
				t.Fatal("a refused save created the file")
			}
		})
	}
}

func TestConcurrentConditionalWritesOneWins(t *testing.T) {
	f := newFixture(t, Options{})
	base, err := f.write(alice, "Local/alice/race.py", "base", "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.write(alice, "Local/alice/race.py", strings.Repeat(string(rune('a'+i)), 1000), base.ETag)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantCode(t, err, ErrStale)
	}
	if wins != 1 {
		t.Fatalf("%d saves won, want exactly 1", wins)
	}
	c, _ := f.content("Local/alice/race.py")
	if len(c) != 1000 || strings.Count(c, c[:1]) != 1000 {
		t.Fatalf("mixed content: %.20q…", c)
	}
	noTemps(t, f.host("Local/alice"))
}

func TestSizeAndQuota(t *testing.T) {
	const kib = 1 << 10
	f := newFixture(t, Options{MaxFileBytes: 512 * kib, QuotaBytes: 1 << 20})
	big := strings.Repeat("x", 400*kib)

	_, err := f.write(alice, "Local/alice/huge.bin", strings.Repeat("x", 512*kib+1), "")
	wantCode(t, err, ErrTooLarge)
	if !strings.Contains(message(err), "512 KB") && !strings.Contains(message(err), "0.5 MB") {
		t.Errorf("size message does not name the limit: %q", message(err))
	}
	if f.exists("Local/alice/huge.bin") {
		t.Fatal("too-large file created")
	}
	if _, err := f.write(alice, "Local/alice/exact.bin", strings.Repeat("x", 512*kib), ""); err != nil {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	if err := f.ws.Delete(alice, "Local/alice/exact.bin"); err != nil {
		t.Fatal(err)
	}

	for _, n := range []string{"a.bin", "b.bin"} {
		if _, err := f.write(alice, "Local/alice/"+n, big, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Rewriting a file counts only the difference.
	if _, err := f.write(alice, "Local/alice/a.bin", big, ""); err != nil {
		t.Fatalf("rewrite at the same size refused: %v", err)
	}
	_, err = f.write(alice, "Local/alice/c.bin", big, "")
	wantCode(t, err, ErrQuota)
	if msg := message(err); !strings.Contains(msg, "1 MB") || !strings.Contains(msg, "your folder") {
		t.Errorf("quota message = %q", msg)
	}
	if f.exists("Local/alice/c.bin") {
		t.Fatal("over-quota file created")
	}
	noTemps(t, f.host("Local/alice"))

	// The professor's writes and copies into a home count against it too.
	_, err = f.write(prof, "Local/alice/c.bin", big, "")
	wantCode(t, err, ErrQuota)
	if !strings.Contains(message(err), "alice") {
		t.Errorf("professor's quota message does not name the student: %q", message(err))
	}
	err = f.ws.Copy(alice, "Local/alice/a.bin", "Local/alice/a2.bin")
	wantCode(t, err, ErrQuota)
	if f.exists("Local/alice/a2.bin") {
		t.Fatal("over-quota copy created")
	}
	noTemps(t, f.host("Local/alice"))

	// Course folders have no quota.
	if _, err := f.write(prof, course+"/c.bin", big, ""); err != nil {
		t.Fatal(err)
	}
	used, err := f.ws.Usage("alice")
	if err != nil || used != int64(2*len(big)+len(welcomePy)) {
		t.Fatalf("usage = %d, %v", used, err)
	}
}

func TestQuotaSeesChangesFromOutside(t *testing.T) {
	f := newFixture(t, Options{QuotaBytes: 1 << 20, UsageTTL: -1})
	if _, err := f.write(alice, "Local/alice/a.py", "x", ""); err != nil {
		t.Fatal(err)
	}
	// The student's program fills the home directly.
	f.put("Local/alice/made-by-program.bin", strings.Repeat("x", 1<<20))
	_, err := f.write(alice, "Local/alice/a.py", "xy", "")
	wantCode(t, err, ErrQuota)
}

func TestStaleTempsAreHiddenAndCleaned(t *testing.T) {
	f := newFixture(t, Options{})
	stale := f.host("Local/alice/" + tempPrefix + "0123456789abcdef")
	fresh := f.host("Local/alice/" + tempPrefix + "fedcba9876543210")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	es, err := f.ws.List(alice, "Local/alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name, tempPrefix) {
			t.Fatalf("temp listed: %s", e.Name)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale temp not cleaned up")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("a fresh temp (maybe a save in progress) was removed")
	}
	if used, _ := f.ws.Usage("alice"); used != int64(len(welcomePy)) {
		t.Fatalf("usage counts temps: %d", used)
	}
}

func TestEnsureHome(t *testing.T) {
	f := newFixture(t, Options{})
	if c, _ := f.content("Local/alice/welcome.py"); c != welcomePy {
		t.Fatalf("welcome.py = %q", c)
	}
	// An existing home is left as it is: no welcome.py comes back.
	if err := os.Remove(f.host("Local/alice/welcome.py")); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.EnsureHome("alice"); err != nil {
		t.Fatal(err)
	}
	if f.exists("Local/alice/welcome.py") {
		t.Fatal("welcome.py recreated in an existing home")
	}
	for _, bad := range []string{"", "..", "a/b", "Local/x", "x\x00"} {
		wantCode(t, f.ws.EnsureHome(bad), ErrInvalid)
	}
	if f.ws.HomePath("alice") != f.host("Local/alice") || f.ws.HomePath("../x") != "" {
		t.Fatalf("HomePath = %q", f.ws.HomePath("alice"))
	}
	cf, err := f.ws.CourseFolders()
	if err != nil || len(cf) != 1 || cf[0] != f.host(course) {
		t.Fatalf("CourseFolders = %q, %v", cf, err)
	}
	st, _ := os.Stat(f.host("Local/alice"))
	if st.Mode().Perm() != 0o755 {
		t.Fatalf("home mode %v", st.Mode())
	}
	// A home its owner's program locked (chmod 000) is usable again.
	if err := os.Chmod(f.host("Local/alice"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.EnsureHome("alice"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(f.host("Local/alice")); st.Mode().Perm() != 0o755 {
		t.Fatalf("a locked home's mode after EnsureHome: %v", st.Mode())
	}
}

func TestHomeOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
	const uid, gid = 54321, 54322
	f := newFixture(t, Options{HomeUID: uid, HomeGID: gid})
	if _, err := f.write(alice, "Local/alice/a.py", "x", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Mkdir(alice, "Local/alice/d"); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Copy(prof, course, "Local/alice/c"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Local/alice", "Local/alice/welcome.py", "Local/alice/a.py", "Local/alice/d", "Local/alice/c", "Local/alice/c/week1.py"} {
		wantOwner(t, f.host(p), uid, gid)
	}
	wantOwner(t, f.host(course+"/week1.py"), 0, 0)
}

func wantOwner(t *testing.T, p string, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	u, g := statOwner(fi)
	if u != uid || g != gid {
		t.Errorf("%s owned by %d:%d, want %d:%d", p, u, g, uid, gid)
	}
}

// Measure counts what a program may have written behind the file API's
// back: bytes of regular files, and every entry (files, folders, links,
// empty files that weigh nothing) for the entries quota.
func TestMeasureCountsBytesAndEntries(t *testing.T) {
	f := newFixture(t, Options{QuotaBytes: 1 << 20})
	before, err := f.ws.Measure("bob")
	if err != nil {
		t.Fatal(err)
	}
	f.mkdir("Local/bob/many")
	for i := range 50 {
		f.put(fmt.Sprintf("Local/bob/many/f%02d", i), "")
	}
	f.put("Local/bob/many/data.bin", strings.Repeat("x", 4096))
	f.symlink("../../alice", "Local/bob/many/link")
	after, err := f.ws.Measure("bob")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after.Entries-before.Entries, 1+50+1+1; got != want {
		t.Errorf("entries grew by %d, want %d (folder, 50 empty files, a file, a link)", got, want)
	}
	if got := after.Bytes - before.Bytes; got != 4096 {
		t.Errorf("bytes grew by %d, want 4096 (links not followed)", got)
	}
	if used, _ := f.ws.Usage("bob"); used != after.Bytes {
		t.Errorf("Usage %d disagrees with Measure %d", used, after.Bytes)
	}
}

// OverQuota names the limit a home is over, bytes first, and nothing within
// both; no files limit means none is applied.
func TestOverQuota(t *testing.T) {
	f := newFixture(t, Options{QuotaBytes: 1 << 20, QuotaFiles: 100})
	for _, c := range []struct {
		u    HomeUsage
		want string
	}{
		{HomeUsage{Bytes: 1 << 20, Entries: 100}, ""},
		{HomeUsage{Bytes: 1<<20 + 1, Entries: 5}, "over its storage limit of 1 MB"},
		{HomeUsage{Bytes: 10, Entries: 101}, "101 files and folders, over its limit of 100"},
	} {
		got := f.ws.OverQuota(c.u)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("OverQuota(%+v) = %q, want %q", c.u, got, c.want)
		}
	}
	if g := newFixture(t, Options{}); g.ws.OverQuota(HomeUsage{Entries: 1 << 30}) != "" {
		t.Error("a files limit applied where none is set")
	}
}
