package workspace

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/fault"
)

var (
	alice = Actor{Username: "alice"}
	bob   = Actor{Username: "bob"}
	prof  = Actor{Username: "teacher", Professor: true}
)

const (
	course    = "Lecture Notes"
	bobSecret = "bob's secret answers\n"
)

// fixture is a real workspace on disk: homes for alice and bob, a course
// folder with a file, and bob's secret file.
type fixture struct {
	t    testing.TB
	dir  string // <data>/ide
	ws   *Workspace
	opts Options
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ide")
	ws, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	f := &fixture{t: t, dir: dir, ws: ws, opts: opts}
	for _, u := range []string{"alice", "bob"} {
		if err := ws.EnsureHome(u); err != nil {
			t.Fatal(err)
		}
	}
	f.mkdir(course)
	f.put(course+"/week1.py", "print('week 1')\n")
	f.put("Local/bob/secret.py", bobSecret)
	f.mkdir("Local/bob/sub")
	f.put("Local/bob/sub/more.py", bobSecret)
	return f
}

// host is the host path of workspace path p.
func (f *fixture) host(p string) string { return filepath.Join(f.dir, filepath.FromSlash(p)) }

func (f *fixture) put(p, content string) {
	f.t.Helper()
	if err := os.WriteFile(f.host(p), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) mkdir(p string) {
	f.t.Helper()
	if err := os.MkdirAll(f.host(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) symlink(target, p string) {
	f.t.Helper()
	if err := os.Symlink(target, f.host(p)); err != nil {
		f.t.Fatal(err)
	}
}

// content reads a file straight from disk ("" + false if missing).
func (f *fixture) content(p string) (string, bool) {
	b, err := os.ReadFile(f.host(p))
	if err != nil {
		return "", false
	}
	return string(b), true
}

func (f *fixture) exists(p string) bool {
	_, err := os.Lstat(f.host(p))
	return err == nil
}

// write saves through the workspace as a.
func (f *fixture) write(a Actor, p, content, ifMatch string) (FileInfo, error) {
	return f.ws.Write(a, p, strings.NewReader(content), ifMatch)
}

// read reads through the workspace as a.
func (f *fixture) read(a Actor, p string) (string, FileInfo, error) {
	r, fi, err := f.ws.Read(a, p)
	if err != nil {
		return "", fi, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), fi, err
}

// wantCode fails unless err is a refusal of kind with words for a person.
func wantCode(t *testing.T, err error, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	if message(err) == "" {
		t.Fatalf("error without a message: %v", err)
	}
}

// message is a refusal's words for the person ("" if there are none).
func message(err error) string {
	m, _ := fault.Message(err)
	return m
}

// treeSnapshot records every name and file content under dir, to prove an
// operation changed nothing.
func treeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(p)
			b.Write(c)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
