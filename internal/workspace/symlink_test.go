package workspace

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plantLinks makes the links a student's program could plant in alice's
// home, plus an outside file that must never change or be read.
func plantLinks(t *testing.T, f *fixture) (outside string) {
	t.Helper()
	outside = filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.mkdir("Local/alice/sub")
	f.symlink("../bob", "Local/alice/tobob")
	f.symlink(f.host("Local/bob"), "Local/alice/tobobabs")
	f.symlink("../bob/secret.py", "Local/alice/bobfile")
	f.symlink("/etc/passwd", "Local/alice/passwd")
	f.symlink("../../../../../../../../etc/passwd", "Local/alice/relpasswd")
	f.symlink(f.dir, "Local/alice/dataroot")
	f.symlink("../..", "Local/alice/up")
	f.symlink(outside, "Local/alice/outside")
	f.symlink("../../bob", "Local/alice/sub/deep")
	f.symlink(".", "Local/alice/loop")
	return outside
}

var links = []string{"tobob", "tobobabs", "bobfile", "passwd", "relpasswd", "dataroot", "up", "outside", "sub/deep"}

func TestPlantedLinksAreNeverFollowedOut(t *testing.T) {
	f := newFixture(t, Options{})
	outside := plantLinks(t, f)
	bobBefore := treeSnapshot(t, f.host("Local/bob"))
	leak := func(t *testing.T, s string) {
		t.Helper()
		if strings.Contains(s, "secret") || strings.Contains(s, "root:") {
			t.Fatalf("leaked: %q", s)
		}
	}
	for _, l := range links {
		p := "Local/alice/" + l
		t.Run(l, func(t *testing.T) {
			for _, q := range []string{p, p + "/secret.py", p + "/Local/bob/secret.py", p + "/bob/secret.py"} {
				c, _, err := f.read(alice, q)
				if err == nil {
					t.Fatalf("read %q succeeded: %q", q, c)
				}
				leak(t, c)
				if !errors.Is(err, ErrDenied) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
					t.Fatalf("read %q = %v", q, err)
				}
				if es, err := f.ws.List(alice, q); err == nil {
					t.Fatalf("list %q succeeded: %+v", q, es)
				}
			}
			if _, err := f.write(alice, p+"/new.py", "pwned", ""); err == nil {
				t.Fatalf("write through %q succeeded", p)
			}
			if err := f.ws.Mkdir(alice, p+"/newdir"); err == nil {
				t.Fatalf("mkdir through %q succeeded", p)
			}
			if err := f.ws.Delete(alice, p+"/secret.py"); err == nil {
				t.Fatalf("delete through %q succeeded", p)
			}
			if err := f.ws.Copy(alice, p, "Local/alice/stolen"); err == nil {
				t.Fatalf("copy of link %q succeeded", p)
			}
			var b bytes.Buffer
			if err := f.ws.Zip(alice, p, &b); err == nil {
				t.Fatalf("zip through %q succeeded", p)
			}
			leak(t, b.String())
		})
	}
	if treeSnapshot(t, f.host("Local/bob")) != bobBefore {
		t.Fatal("bob's home changed")
	}
	if c, _ := os.ReadFile(outside); string(c) != "outside secret\n" {
		t.Fatalf("outside file changed: %q", c)
	}
	if f.exists("Local/alice/stolen") {
		t.Fatal("a copy through a link was made")
	}

	// Walks skip links entirely.
	var b bytes.Buffer
	if err := f.ws.Zip(alice, "Local/alice", &b); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		c, _ := io.ReadAll(rc)
		rc.Close()
		leak(t, string(c))
		for _, l := range links {
			if zf.Name == "alice/"+l || strings.HasPrefix(zf.Name, "alice/"+l+"/") {
				t.Errorf("zip holds link %s", zf.Name)
			}
		}
	}
	if err := f.ws.Copy(alice, "Local/alice/sub", "Local/alice/sub2"); err != nil {
		t.Fatal(err)
	}
	if f.exists("Local/alice/sub2/deep") {
		t.Fatal("copy kept a link")
	}
	used, err := f.ws.Usage("alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(welcomePy)); used != want {
		t.Fatalf("usage = %d, want %d (only welcome.py; links not followed)", used, want)
	}

	// Links are listed as links so they can be seen and removed; removing
	// one removes the link, not its target.
	es, err := f.ws.List(alice, "Local/alice")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range es {
		if e.Link {
			seen++
			if e.Type != "link" || e.Size != 0 {
				t.Errorf("link entry = %+v", e)
			}
		}
	}
	if seen != 9 { // 8 top-level links + loop
		t.Errorf("listed %d links, want 9", seen)
	}
	if err := f.ws.Delete(alice, "Local/alice/tobob"); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Delete(alice, "Local/alice/bobfile"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.content("Local/bob/secret.py"); c != bobSecret {
		t.Fatal("deleting a link removed its target")
	}
	// Saving over a link replaces the link itself; the outside file stays.
	if _, err := f.write(alice, "Local/alice/outside", "mine", ""); err != nil {
		t.Fatal(err)
	}
	if c, _ := os.ReadFile(outside); string(c) != "outside secret\n" {
		t.Fatalf("outside file changed: %q", c)
	}
	if fi, _ := os.Lstat(f.host("Local/alice/outside")); !fi.Mode().IsRegular() {
		t.Fatal("link not replaced by a file")
	}
}

// A link inside the same home works like the file it points to: os.Root
// allows it because it stays within the home.
func TestLinkWithinHomeWorks(t *testing.T) {
	f := newFixture(t, Options{})
	f.symlink("welcome.py", "Local/alice/hello.py")
	if c, _, err := f.read(alice, "Local/alice/hello.py"); err != nil || c != welcomePy {
		t.Fatalf("read in-home link = %q, %v", c, err)
	}
}

func TestLinkedHomeOrCourseIsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	f.symlink("bob", "Local/carol")
	f.symlink("Local/bob", "Sneaky")
	f.symlink("../Local/bob", course+"/escape")
	carol := Actor{Username: "carol"}
	for _, tt := range []struct {
		a Actor
		p string
	}{
		{carol, "Local/carol/secret.py"},
		{alice, "Sneaky/secret.py"},
		{alice, course + "/escape/secret.py"},
	} {
		if c, _, err := f.read(tt.a, tt.p); err == nil {
			t.Errorf("%s read %q = %q", tt.a.Username, tt.p, c)
		}
		if _, err := f.ws.List(tt.a, parentPath(tt.p)); err == nil {
			t.Errorf("%s listed %q", tt.a.Username, parentPath(tt.p))
		}
	}
	es, _ := f.ws.List(alice, "")
	for _, e := range es {
		if e.Name == "Sneaky" {
			t.Error("a top-level link is listed as a course folder")
		}
	}
	if err := f.ws.EnsureHome("carol"); err == nil {
		t.Error("EnsureHome accepted a link as a home")
	}
}

func TestFIFODoesNotHang(t *testing.T) {
	f := newFixture(t, Options{})
	if err := syscall.Mkfifo(f.host("Local/alice/pipe"), 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	_, _, err := f.read(alice, "Local/alice/pipe")
	wantCode(t, err, ErrInvalid)
	es, _ := f.ws.List(alice, "Local/alice")
	for _, e := range es {
		if e.Name == "pipe" {
			t.Error("FIFO listed")
		}
	}
	var b bytes.Buffer
	if err := f.ws.Zip(alice, "Local/alice", &b); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Copy(alice, "Local/alice", "Local/bobcopy"); err == nil {
		t.Fatal("copy into another home allowed")
	}
}
