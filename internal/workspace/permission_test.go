package workspace

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// op is one workspace operation performed by alice on a path she must not
// be able to use.
type op struct {
	name string
	do   func(f *fixture, a Actor, p string) error
}

var allOps = []op{
	{"list", func(f *fixture, a Actor, p string) error { _, err := f.ws.List(a, p); return err }},
	{"stat", func(f *fixture, a Actor, p string) error { _, err := f.ws.Stat(a, p); return err }},
	{"read", func(f *fixture, a Actor, p string) error { _, _, err := f.read(a, p); return err }},
	{"write", func(f *fixture, a Actor, p string) error { _, err := f.write(a, p, "pwned", ""); return err }},
	{"write inside", func(f *fixture, a Actor, p string) error { _, err := f.write(a, p+"/x.py", "pwned", ""); return err }},
	{"mkdir", func(f *fixture, a Actor, p string) error { return f.ws.Mkdir(a, p) }},
	{"mkdir inside", func(f *fixture, a Actor, p string) error { return f.ws.Mkdir(a, p+"/d") }},
	{"delete", func(f *fixture, a Actor, p string) error { return f.ws.Delete(a, p) }},
	{"move from", func(f *fixture, a Actor, p string) error { return f.ws.Move(a, p, "Local/alice/stolen") }},
	{"move to", func(f *fixture, a Actor, p string) error { return f.ws.Move(a, "Local/alice/mine.py", p) }},
	{"copy from", func(f *fixture, a Actor, p string) error { return f.ws.Copy(a, p, "Local/alice/stolen") }},
	{"copy to", func(f *fixture, a Actor, p string) error { return f.ws.Copy(a, "Local/alice/mine.py", p) }},
	{"zip", func(f *fixture, a Actor, p string) error {
		var b bytes.Buffer
		err := f.ws.Zip(a, p, &b)
		if b.Len() > 0 {
			f.t.Errorf("zip of %q wrote %d bytes", p, b.Len())
		}
		return err
	}},
	{"distribute", func(f *fixture, a Actor, p string) error {
		_, err := f.ws.Distribute(a, p, "", []string{"alice"})
		return err
	}},
}

// TestStudentCannotReachAnotherHome: whatever the spelling and the
// operation, alice gets an error, bob's home is untouched, nothing of bob's
// lands in alice's home, and a plain spelling of bob's home is 404 whether
// or not the file exists.
func TestStudentCannotReachAnotherHome(t *testing.T) {
	spellings := []struct {
		path     string
		exact404 bool
	}{
		{"Local/bob", true},
		{"Local/bob/secret.py", true},
		{"Local/bob/sub", true},
		{"Local/bob/sub/more.py", true},
		{"Local/bob/nonexistent.py", true},
		{"Local/nobody/x.py", true},
		{"Local/BOB/secret.py", true},
		{"Local/alice/../bob/secret.py", false},
		{"Local/alice/../bob", false},
		{"Local//bob/secret.py", false},
		{"/Local/bob/secret.py", false},
		{`Local\bob\secret.py`, false},
		{`Local/alice/..\bob\secret.py`, false},
		{"Local/bob/", false},
		{"Local/bob/secret.py\x00", false},
		{"Local/bob\x00/secret.py", false},
		{"Local/bob/./secret.py", false},
		{"./Local/bob", false},
		{"Local/bob/sub/../secret.py", false},
		{"Local/alice/../../etc/passwd", false},
		{"Local/alice/%2e%2e/bob/secret.py", false},
		{"Local/alice/%252e%252e/bob/secret.py", false},
		{"%2e%2e/Local/bob/secret.py", false},
		{"Local/alice/..%2fbob/secret.py", false},
		{"L\u043ecal/bob/secret.py", false},  // Cyrillic o
		{"Local/b\u043eb/secret.py", false},  // Cyrillic o
		{"Local/bob\u200b/secret.py", false}, // zero-width space
		{"Local/\uff42ob/secret.py", false},  // fullwidth b
		{"Local/ bob/secret.py", false},
		{"Local/bob /secret.py", false},
	}
	f := newFixture(t, Options{})
	f.put("Local/alice/mine.py", "mine\n")
	bobHome := f.host("Local/bob")
	for _, s := range spellings {
		for _, o := range allOps {
			t.Run(o.name+"/"+s.path, func(t *testing.T) {
				before := treeSnapshot(t, bobHome)
				err := o.do(f, alice, s.path)
				if err == nil {
					t.Fatalf("alice %s %q succeeded", o.name, s.path)
				}
				switch {
				case o.name == "distribute":
					wantCode(t, err, ErrDenied)
				case s.exact404:
					wantCode(t, err, ErrNotFound)
				case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrDenied):
					t.Fatalf("alice %s %q = %v, want not_found, bad_request or forbidden", o.name, s.path, err)
				}
				if after := treeSnapshot(t, bobHome); after != before {
					t.Fatalf("bob's home changed:\n%s\n---\n%s", before, after)
				}
				if f.exists("Local/alice/stolen") {
					t.Fatalf("something of bob's landed in alice's home")
				}
				if c, _ := f.content("Local/alice/mine.py"); c != "mine\n" {
					t.Fatalf("alice's own file was lost: %q", c)
				}
			})
		}
	}
}

// TestMissingAndExistingHomesLookAlike: the message for another student's
// existing file has the same shape as for one that does not exist.
func TestMissingAndExistingHomesLookAlike(t *testing.T) {
	f := newFixture(t, Options{})
	_, e1 := f.ws.Stat(alice, "Local/bob/secret.py")
	_, e2 := f.ws.Stat(alice, "Local/nobody/secret.py")
	m1, m2 := message(e1), message(e2)
	if len(m1)-len("bob") != len(m2)-len("nobody") || !errors.Is(e1, ErrNotFound) || !errors.Is(e2, ErrNotFound) {
		t.Fatalf("messages differ in shape: %q vs %q", m1, m2)
	}
}

func TestStudentCourseFoldersReadOnly(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("Local/alice/mine.py", "mine\n")
	forbidden := []struct {
		name string
		do   func() error
	}{
		{"overwrite", func() error { _, err := f.write(alice, course+"/week1.py", "x", ""); return err }},
		{"new file", func() error { _, err := f.write(alice, course+"/new.py", "x", ""); return err }},
		{"mkdir", func() error { return f.ws.Mkdir(alice, course+"/d") }},
		{"delete file", func() error { return f.ws.Delete(alice, course+"/week1.py") }},
		{"delete course", func() error { return f.ws.Delete(alice, course) }},
		{"rename inside", func() error { return f.ws.Move(alice, course+"/week1.py", course+"/w.py") }},
		{"move out", func() error { return f.ws.Move(alice, course+"/week1.py", "Local/alice/w.py") }},
		{"copy in", func() error { return f.ws.Copy(alice, "Local/alice/mine.py", course+"/mine.py") }},
		{"move in", func() error { return f.ws.Move(alice, "Local/alice/mine.py", course+"/mine.py") }},
		{"create course", func() error { return f.ws.Mkdir(alice, "New Course") }},
		{"rename course", func() error { return f.ws.Move(alice, course, "Other") }},
		{"delete root", func() error { return f.ws.Delete(alice, "") }},
		{"delete Local", func() error { return f.ws.Delete(alice, "Local") }},
		{"delete own home", func() error { return f.ws.Delete(alice, "Local/alice") }},
		{"move own home", func() error { return f.ws.Move(alice, "Local/alice", "Local/alice2") }},
		{"missing course", func() error { _, err := f.write(alice, "Nope/x.py", "x", ""); return err }},
	}
	before := treeSnapshot(t, f.dir)
	for _, tt := range forbidden {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(), ErrDenied)
		})
	}
	if after := treeSnapshot(t, f.dir); after != before {
		t.Fatalf("the workspace changed")
	}

	// Reading and copying course material out is allowed.
	if c, _, err := f.read(alice, course+"/week1.py"); err != nil || c != "print('week 1')\n" {
		t.Fatalf("read course file = %q, %v", c, err)
	}
	if err := f.ws.Copy(alice, course, "Local/alice/notes"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content("Local/alice/notes/week1.py"); c != "print('week 1')\n" {
		t.Fatalf("copied course file = %q", c)
	}
}

func TestListingsShowOnlyWhatTheActorMaySee(t *testing.T) {
	f := newFixture(t, Options{})
	f.put("toplevel.txt", "a stray file at the top")
	names := func(a Actor, p string) []string {
		t.Helper()
		es, err := f.ws.List(a, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Path)
		}
		return out
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	}
	eq(names(alice, ""), course, "Local")
	eq(names(alice, "Local"), "Local/alice")
	eq(names(prof, "Local"), "Local/alice", "Local/bob")
	eq(names(prof, "Local/bob"), "Local/bob/sub", "Local/bob/secret.py", "Local/bob/welcome.py")

	es, _ := f.ws.List(alice, "")
	for _, e := range es {
		if e.Writable {
			t.Errorf("%s is writable for a student", e.Path)
		}
	}
	es, _ = f.ws.List(alice, "Local")
	if !es[0].Writable {
		t.Errorf("alice's home is not writable for alice")
	}
	es, _ = f.ws.List(alice, course)
	if es[0].Writable || es[0].Type != "file" || es[0].Size != int64(len("print('week 1')\n")) {
		t.Errorf("course entry = %+v", es[0])
	}
	es, _ = f.ws.List(prof, course)
	if !es[0].Writable {
		t.Errorf("course file not writable for the professor")
	}
	e, err := f.ws.Stat(alice, "")
	if err != nil || e.Type != "dir" || e.Writable {
		t.Errorf("root stat = %+v, %v", e, err)
	}
}

func TestProfessorMayDoEverything(t *testing.T) {
	f := newFixture(t, Options{})
	if c, _, err := f.read(prof, "Local/bob/secret.py"); err != nil || c != bobSecret {
		t.Fatalf("professor read = %q, %v", c, err)
	}
	if _, err := f.write(prof, "Local/bob/feedback.txt", "good work", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Mkdir(prof, "Week 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.write(prof, "Week 2/task.py", "pass\n", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Move(prof, "Week 2", "Week Two"); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Move(prof, "Local/bob/secret.py", "Local/alice/from-bob.py"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content("Local/alice/from-bob.py"); c != bobSecret || f.exists("Local/bob/secret.py") {
		t.Fatalf("cross-home move: content %q, source still there: %v", c, f.exists("Local/bob/secret.py"))
	}
	if err := f.ws.Move(prof, "Week Two", "Local/alice/week2"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content("Local/alice/week2/task.py"); c != "pass\n" || f.exists("Week Two") {
		t.Fatalf("course into home: %q, course left: %v", c, f.exists("Week Two"))
	}
	if err := f.ws.Copy(prof, "Local/alice/week2", "Week 3"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content("Week 3/task.py"); c != "pass\n" {
		t.Fatalf("home folder copied to a new course: %q", c)
	}
	noTemps(t, f.dir)
	if err := f.ws.Delete(prof, "Week 3"); err != nil || f.exists("Week 3") {
		t.Fatalf("delete course folder: %v", err)
	}
	if err := f.ws.Delete(prof, "Local/bob/sub"); err != nil || f.exists("Local/bob/sub") {
		t.Fatalf("delete folder: %v", err)
	}
	for _, p := range []string{"", "Local", "Local/bob"} {
		wantCode(t, f.ws.Delete(prof, p), ErrDenied)
	}
	wantCode(t, f.ws.Move(prof, "Local/bob", "Local/robert"), ErrDenied)
	wantCode(t, f.ws.Mkdir(prof, "Local/newkid"), ErrDenied)
	wantCode(t, f.ws.Mkdir(prof, "Local/bob"), ErrExists)
	_, err := f.write(prof, "top.py", "x", "")
	wantCode(t, err, ErrInvalid)
	_, err = f.write(prof, "Local/x.py", "x", "")
	wantCode(t, err, ErrDenied)
}

func TestRunnable(t *testing.T) {
	f := newFixture(t, Options{})
	alice := Actor{Username: "alice"}
	prof := Actor{Username: "prof", Professor: true}
	f.put("Local/alice/hw.py", "print(1)")
	f.put("Local/alice/notes.txt", "x")
	f.symlink("../bob/secret.py", "Local/alice/link.py")
	r, err := f.ws.Runnable(alice, "Local/alice/hw.py")
	if err != nil || r.File != f.host("Local/alice/hw.py") || r.Scope != f.ws.HomePath("alice") || r.InHome != "alice" {
		t.Fatalf("own file: %+v %v", r, err)
	}
	if r, err := f.ws.Runnable(alice, course+"/week1.py"); err != nil || r.Scope != f.host(course) || r.InHome != "" {
		t.Fatalf("course file: %+v %v", r, err)
	}
	for _, p := range []string{"Local/bob/secret.py", "Local/alice/notes.txt", "Local/alice", "Local/alice/none.py", "", "Local", "Local/alice/link.py", "Local/alice/../bob/secret.py"} {
		if _, err := f.ws.Runnable(alice, p); err == nil {
			t.Errorf("alice may run %q", p)
		}
	}
	if r, err := f.ws.Runnable(prof, "Local/bob/secret.py"); err != nil || r.InHome != "bob" {
		t.Fatalf("professor runs bob's file: %+v %v", r, err)
	}
}

func TestAdoptHomes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
	f := newFixture(t, Options{})
	f.symlink("/etc/passwd", "Local/alice/link")
	ws, err := Open(f.dir, Options{HomeUID: 4242, HomeGID: 4343})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	n, err := ws.AdoptHomes(nil)
	if err != nil || n == 0 {
		t.Fatalf("adopt: %d %v", n, err)
	}
	for _, p := range []string{"Local/alice", "Local/alice/welcome.py", "Local/bob/sub/more.py", "Local/alice/link"} {
		fi, err := os.Lstat(f.host(p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 4242 || st.Gid != 4343 {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
	}
	if fi, _ := os.Stat("/etc/passwd"); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatal("a link was followed out of the home")
	}
	if fi, _ := os.Lstat(f.host(course)); fi.Sys().(*syscall.Stat_t).Uid == 4242 {
		t.Error("a course folder was given away")
	}
	if n, err := ws.AdoptHomes(nil); err != nil || n != 0 {
		t.Fatalf("second adopt changed %d (%v)", n, err)
	}
}

// Seal takes an exam's folder from the programs' user (owned by the
// server, nobody else may write), and AdoptHomes at the next start leaves it
// so when told it is sealed, while it still adopts the rest of the home.
func TestSealTakesAFolderFromThePrograms(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
	f := newFixture(t, Options{})
	ws, err := Open(f.dir, Options{HomeUID: 4242, HomeGID: 4343})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	f.mkdir("Local/alice/quiz/sub")
	for _, p := range []string{"Local/alice/quiz/a.py", "Local/alice/quiz/sub/b.py"} {
		if _, err := ws.Write(alice, p, strings.NewReader("x = 1\n"), ""); err != nil {
			t.Fatal(err)
		}
		os.Chmod(f.host(p), 0o666) // as a program with umask 0 would leave it
	}
	if _, err := ws.AdoptHomes(nil); err != nil {
		t.Fatal(err)
	}
	if err := ws.Seal(prof, "Local/alice/quiz"); err != nil {
		t.Fatal(err)
	}
	sealedOK := func(when string) {
		t.Helper()
		for _, p := range []string{"Local/alice/quiz", "Local/alice/quiz/sub", "Local/alice/quiz/a.py", "Local/alice/quiz/sub/b.py"} {
			fi, err := os.Lstat(f.host(p))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
				t.Errorf("%s: %s owned by %d, mode %v", when, p, st.Uid, fi.Mode().Perm())
			}
		}
	}
	sealedOK("sealed")
	// The rest of the home stays the programs'.
	if fi, _ := os.Lstat(f.host("Local/alice/welcome.py")); fi.Sys().(*syscall.Stat_t).Uid != 4242 {
		t.Error("Seal took more than the folder")
	}
	os.Lchown(f.host("Local/alice/welcome.py"), 0, 0) // written by an older system meanwhile
	if n, err := ws.AdoptHomes(func(p string) bool { return p == "Local/alice/quiz" }); err != nil || n != 1 {
		t.Fatalf("adopt beside a sealed folder changed %d (%v), want 1", n, err)
	}
	sealedOK("after the next start's adopt")
	for _, bad := range []string{"Local/alice", "Local/alice/welcome.py", "Local/alice/nope", "Local", "Lecture Notes"} {
		if err := ws.Seal(prof, bad); err == nil {
			t.Errorf("Seal(%q) did not refuse", bad)
		}
	}
}
