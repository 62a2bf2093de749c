package workspace

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/fault"
)

// fencedAlice is alice during an exam: only Local/alice/exam is open (and
// the course folders when courses).
func fencedAlice(courses bool) Actor {
	return Actor{Username: "alice", Limits: &Limits{Fence: "Local/alice/exam", Courses: courses,
		Refusal: "During the exam only your exam folder is open."}}
}

// Every operation refuses every path outside the fence with the sentence,
// works inside it, and follows no link in it.
func TestFenceEveryOperation(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/exam")
	f.put("Local/alice/exam/q1.py", "print(1)\n")
	f.put("Local/alice/notes.py", "my notes\n")
	f.mkdir("Local/alice/other")
	f.put("Local/alice/other/hw.py", "homework\n")
	a := fencedAlice(false)
	ws := f.ws

	fencedErr := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrFenced) || !errors.Is(err, ErrDenied) {
			t.Fatalf("%s: %v, want the fence's refusal", what, err)
		}
		if m, _ := fault.Message(err); m != "During the exam only your exam folder is open." {
			t.Fatalf("%s: message %q", what, m)
		}
	}
	outside := []string{"", "Local", "Local/alice", "Local/alice/notes.py", "Local/alice/other", "Local/alice/other/hw.py",
		"Local/alice/exam2", "Local/alice/examx/q1.py", "Local/bob", "Local/bob/secret.py", course, course + "/week1.py"}
	for _, p := range outside {
		_, err := ws.List(a, p)
		fencedErr("list "+p, err)
		_, err = ws.Stat(a, p)
		fencedErr("stat "+p, err)
		_, _, err = ws.Read(a, p)
		fencedErr("read "+p, err)
		_, err = ws.Write(a, p, strings.NewReader("x"), "")
		fencedErr("write "+p, err)
		fencedErr("mkdir "+p, ws.Mkdir(a, p))
		fencedErr("delete "+p, ws.Delete(a, p))
		fencedErr("move out "+p, ws.Move(a, "Local/alice/exam/q1.py", p))
		fencedErr("move in "+p, ws.Move(a, p, "Local/alice/exam/in"))
		fencedErr("copy out "+p, ws.Copy(a, "Local/alice/exam/q1.py", p))
		fencedErr("copy in "+p, ws.Copy(a, p, "Local/alice/exam/in"))
		fencedErr("zip "+p, ws.Zip(a, p, io.Discard))
		_, err = ws.Search(a, p, "x", SearchOptions{})
		fencedErr("search "+p, err)
		_, err = ws.Runnable(a, p)
		fencedErr("run "+p, err)
		_, _, err = ws.Snapshot(a, p, filepath.Join(t.TempDir(), "snap"))
		fencedErr("snapshot "+p, err)
		_, err = ws.RealFolder(a, p)
		fencedErr("real folder "+p, err)
	}

	// Inside, everything works as usual.
	if es, err := ws.List(a, "Local/alice/exam"); err != nil || len(es) != 1 || es[0].Name != "q1.py" || !es[0].Writable {
		t.Fatalf("list the exam folder: %+v %v", es, err)
	}
	if got := f.text(a, "Local/alice/exam/q1.py"); got != "print(1)\n" {
		t.Fatalf("read: %q", got)
	}
	if _, err := ws.Write(a, "Local/alice/exam/q2.py", strings.NewReader("print(2)\n"), ""); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{ws.Mkdir(a, "Local/alice/exam/d"), ws.Copy(a, "Local/alice/exam/q2.py", "Local/alice/exam/d/q2.py"),
		ws.Move(a, "Local/alice/exam/d/q2.py", "Local/alice/exam/d/q3.py"), ws.Delete(a, "Local/alice/exam/d/q3.py"),
		ws.Zip(a, "Local/alice/exam", io.Discard)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if res, err := ws.Search(a, "Local/alice/exam", "print", SearchOptions{}); err != nil || len(res.Matches) != 2 {
		t.Fatalf("search: %+v %v", res, err)
	}
	if r, err := ws.Runnable(a, "Local/alice/exam/q1.py"); err != nil || r.File != f.host("Local/alice/exam/q1.py") {
		t.Fatalf("runnable: %+v %v", r, err)
	}
	if n, _, err := ws.Snapshot(a, "Local/alice/exam", filepath.Join(t.TempDir(), "snap")); err != nil || n != 3 {
		t.Fatalf("snapshot: %d %v", n, err)
	}
	if h, err := ws.RealFolder(a, "Local/alice/exam"); err != nil || h != f.host("Local/alice/exam") {
		t.Fatalf("real folder: %q %v", h, err)
	}
	// The fence folder itself cannot be changed.
	for what, err := range map[string]error{"delete": ws.Delete(a, "Local/alice/exam"), "move": ws.Move(a, "Local/alice/exam", "Local/alice/exam/x"),
		"mkdir": ws.Mkdir(a, "Local/alice/exam")} {
		if !errors.Is(err, ErrDenied) || errors.Is(err, ErrFenced) {
			t.Fatalf("%s the fence folder: %v", what, err)
		}
	}

	// No link is followed inside the fence, wherever it points.
	f.symlink("..", "Local/alice/exam/up")
	f.symlink("../notes.py", "Local/alice/exam/notes.py")
	for _, p := range []string{"Local/alice/exam/up/notes.py", "Local/alice/exam/notes.py", "Local/alice/exam/up"} {
		if _, _, err := ws.Read(a, p); !errors.Is(err, ErrDenied) {
			t.Fatalf("read through a link %s: %v", p, err)
		}
		if _, err := ws.List(a, p); !errors.Is(err, ErrDenied) {
			t.Fatalf("list through a link %s: %v", p, err)
		}
	}
	if _, err := ws.Write(a, "Local/alice/exam/up/planted.py", strings.NewReader("x"), ""); !errors.Is(err, ErrDenied) {
		t.Fatalf("write through a link: %v", err)
	}
	if err := ws.Copy(a, "Local/alice/exam/up", "Local/alice/exam/copied"); !errors.Is(err, ErrDenied) {
		t.Fatalf("copy through a link: %v", err)
	}
	if _, err := ws.Runnable(a, "Local/alice/exam/up/other/hw.py"); !errors.Is(err, ErrDenied) {
		t.Fatalf("run through a link: %v", err)
	}
	// The fence folder itself a link: nothing is open.
	g := newFixture(t, Options{})
	g.mkdir("Local/alice/real")
	g.put("Local/alice/real/x.py", "x\n")
	g.symlink("real", "Local/alice/exam")
	if _, err := g.ws.List(a, "Local/alice/exam"); !errors.Is(err, ErrDenied) {
		t.Fatalf("a fence that is a link was listed: %v", err)
	}
	if _, err := g.ws.RealFolder(a, "Local/alice/exam"); !errors.Is(err, ErrDenied) {
		t.Fatalf("a fence that is a link was given to the sandbox: %v", err)
	}
	// A fence outside the actor's own home opens nothing.
	stray := Actor{Username: "alice", Limits: &Limits{Fence: "Local/bob/sub"}}
	if _, err := ws.List(stray, "Local/bob/sub"); !errors.Is(err, ErrFenced) {
		t.Fatalf("a fence in another home: %v", err)
	}
}

// With the course notes allowed, course folders are readable (and, as
// always, not writable); and a read-only folder refuses every change but
// can be read.
func TestFenceCoursesAndReadOnly(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/exam")
	ws := f.ws
	a := fencedAlice(true)
	if got := f.text(a, course+"/week1.py"); got != "print('week 1')\n" {
		t.Fatalf("course notes: %q", got)
	}
	if err := ws.Copy(a, course+"/week1.py", "Local/alice/exam/week1.py"); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Write(a, course+"/week1.py", strings.NewReader("x"), ""); !errors.Is(err, ErrDenied) {
		t.Fatalf("a student wrote a course folder: %v", err)
	}
	if _, _, err := ws.Read(a, "Local/alice/welcome.py"); !errors.Is(err, ErrFenced) {
		t.Fatalf("the rest of the home with course notes: %v", err)
	}

	after := Actor{Username: "alice", Limits: &Limits{ReadOnly: []ReadOnly{{Folder: "Local/alice/exam", Why: "The exam is over: its folder is read-only."}}}}
	if got := f.text(after, "Local/alice/exam/week1.py"); got != "print('week 1')\n" {
		t.Fatalf("read after the end: %q", got)
	}
	for what, err := range map[string]error{
		"write": func() error {
			_, err := ws.Write(after, "Local/alice/exam/week1.py", strings.NewReader("x"), "")
			return err
		}(),
		"new": func() error {
			_, err := ws.Write(after, "Local/alice/exam/new.py", strings.NewReader("x"), "")
			return err
		}(),
		"delete": ws.Delete(after, "Local/alice/exam/week1.py"), "delete folder": ws.Delete(after, "Local/alice/exam"),
		"move out": ws.Move(after, "Local/alice/exam/week1.py", "Local/alice/w.py"), "move in": ws.Move(after, "Local/alice/welcome.py", "Local/alice/exam/w.py"),
		"copy in": ws.Copy(after, "Local/alice/welcome.py", "Local/alice/exam/w.py"), "mkdir": ws.Mkdir(after, "Local/alice/exam/d"),
	} {
		if m, _ := fault.Message(err); !errors.Is(err, ErrDenied) || m != "The exam is over: its folder is read-only." {
			t.Fatalf("%s after the end: %v", what, err)
		}
	}
	if es, _ := ws.List(after, "Local/alice/exam"); len(es) != 1 || es[0].Writable {
		t.Fatalf("a read-only folder's files listed as writable: %+v", es)
	}
	if err := ws.Copy(after, "Local/alice/exam/week1.py", "Local/alice/w.py"); err != nil {
		t.Fatalf("copying out of a read-only folder: %v", err)
	}
	if _, err := ws.Write(after, "Local/alice/w.py", strings.NewReader("y"), ""); err != nil {
		t.Fatalf("the rest of the home after the end: %v", err)
	}
}

func (f *fixture) text(a Actor, p string) string {
	f.t.Helper()
	r, _, err := f.ws.Read(a, p)
	if err != nil {
		f.t.Fatalf("read %s: %v", p, err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}
