package workspace

import (
	"archive/zip"
	"bytes"
	"io"
	"sort"
	"strings"
	"testing"
)

func TestMoveAndCopyRules(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/proj/inner")
	f.put("Local/alice/proj/main.py", "main\n")
	f.put("Local/alice/proj/inner/util.py", "util\n")
	f.put("Local/alice/other.py", "other\n")
	f.mkdir("Local/alice/empty")

	tests := []struct {
		name     string
		do       func() error
		kind     error
		unchange bool
	}{
		{"move onto existing file", func() error { return f.ws.Move(alice, "Local/alice/other.py", "Local/alice/welcome.py") }, ErrExists, true},
		{"move folder onto empty folder", func() error { return f.ws.Move(alice, "Local/alice/proj", "Local/alice/empty") }, ErrExists, true},
		{"move onto itself", func() error { return f.ws.Move(alice, "Local/alice/proj", "Local/alice/proj") }, ErrExists, true},
		{"move into itself", func() error { return f.ws.Move(alice, "Local/alice/proj", "Local/alice/proj/inner/proj") }, ErrInvalid, true},
		{"copy into itself", func() error { return f.ws.Copy(alice, "Local/alice/proj", "Local/alice/proj/copy") }, ErrInvalid, true},
		{"copy home into itself", func() error { return f.ws.Copy(alice, "Local/alice", "Local/alice/backup") }, ErrInvalid, true},
		{"copy onto existing", func() error { return f.ws.Copy(alice, "Local/alice/other.py", "Local/alice/welcome.py") }, ErrExists, true},
		{"move missing", func() error { return f.ws.Move(alice, "Local/alice/nope.py", "Local/alice/x.py") }, ErrNotFound, true},
		{"move into missing folder", func() error { return f.ws.Move(alice, "Local/alice/other.py", "Local/alice/nope/x.py") }, ErrNotFound, true},
		{"copy into missing folder", func() error { return f.ws.Copy(alice, "Local/alice/other.py", "Local/alice/nope/x.py") }, ErrNotFound, true},
		{"mkdir existing", func() error { return f.ws.Mkdir(alice, "Local/alice/proj") }, ErrExists, true},
		{"mkdir missing parent", func() error { return f.ws.Mkdir(alice, "Local/alice/a/b") }, ErrNotFound, true},
		{"delete missing", func() error { return f.ws.Delete(alice, "Local/alice/nope") }, ErrNotFound, true},
		{"delete own home", func() error { return f.ws.Delete(alice, "Local/alice") }, ErrDenied, true},
		{"professor deletes a home", func() error { return f.ws.Delete(prof, "Local/alice") }, ErrDenied, true},
		{"professor moves Local", func() error { return f.ws.Move(prof, "Local", "Old") }, ErrDenied, true},
		{"professor moves a file to the top", func() error { return f.ws.Move(prof, "Local/alice/other.py", "other.py") }, ErrInvalid, true},
		{"professor moves a course onto Local", func() error { return f.ws.Move(prof, course, "Local") }, ErrExists, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := treeSnapshot(t, f.dir)
			wantCode(t, tt.do(), tt.kind)
			if tt.unchange && treeSnapshot(t, f.dir) != before {
				t.Fatal("the workspace changed")
			}
		})
	}

	// What works.
	if err := f.ws.Move(alice, "Local/alice/other.py", "Local/alice/proj/other.py"); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Move(alice, "Local/alice/proj", "Local/alice/project"); err != nil {
		t.Fatal(err)
	}
	if err := f.ws.Copy(alice, "Local/alice/project", "Local/alice/empty/copy"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Local/alice/project/other.py", "Local/alice/empty/copy/other.py", "Local/alice/empty/copy/inner/util.py"} {
		if !f.exists(p) {
			t.Errorf("%s missing", p)
		}
	}
	if err := f.ws.Delete(alice, "Local/alice/project"); err != nil || f.exists("Local/alice/project") {
		t.Fatalf("delete folder: %v", err)
	}
	noTemps(t, f.host("Local/alice"))
	noTemps(t, f.host("Local/alice/empty"))
}

func TestZip(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/hw/data/empty")
	f.put("Local/alice/hw/main.py", "print('main')\n")
	f.put("Local/alice/hw/data/in.txt", "1 2 3\n")
	f.symlink("../../bob/secret.py", "Local/alice/hw/link.py")
	var b bytes.Buffer
	if err := f.ws.Zip(alice, "Local/alice/hw", &b); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(rc)
		rc.Close()
		got[zf.Name] = string(c)
		names = append(names, zf.Name)
	}
	sort.Strings(names)
	want := []string{"hw/", "hw/data/", "hw/data/empty/", "hw/data/in.txt", "hw/main.py"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("zip names %q, want %q", names, want)
	}
	if got["hw/main.py"] != "print('main')\n" || got["hw/data/in.txt"] != "1 2 3\n" {
		t.Fatalf("zip contents %q", got)
	}
	err = f.ws.Zip(alice, "Local/alice/hw/main.py", io.Discard)
	wantCode(t, err, ErrInvalid)
	err = f.ws.Zip(prof, "Local", io.Discard)
	wantCode(t, err, ErrInvalid)
	if err := f.ws.Zip(alice, course, io.Discard); err != nil {
		t.Fatalf("zip of a course folder: %v", err)
	}
}

func TestDistribute(t *testing.T) {
	f := newFixture(t, Options{QuotaBytes: 1 << 20})
	f.mkdir(course + "/hw1")
	f.put(course+"/hw1/task.py", "# task\n")
	// bob already has it (and his version must survive).
	f.mkdir("Local/bob/assignments/hw1")
	f.put("Local/bob/assignments/hw1/task.py", "bob's work\n")
	// dave has no room.
	if err := f.ws.EnsureHome("dave"); err != nil {
		t.Fatal(err)
	}
	f.put("Local/dave/full.bin", strings.Repeat("x", 1<<20))

	users := []string{"alice", "bob", "carol", "dave", "../evil"}
	res, err := f.ws.Distribute(prof, course+"/hw1", "assignments", users)
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 2 || res.Skipped != 1 || res.Failed != 2 || len(res.Users) != len(users) {
		t.Fatalf("result %+v", res)
	}
	want := map[string]string{"alice": Copied, "bob": Skipped, "carol": Copied, "dave": Failed, "../evil": Failed}
	for _, o := range res.Users {
		if o.Status != want[o.Username] {
			t.Errorf("%s: %+v, want %s", o.Username, o, want[o.Username])
		}
		if o.Status != Copied && o.Reason == "" {
			t.Errorf("%s: no reason given", o.Username)
		}
	}
	for _, u := range []string{"alice", "carol"} {
		if c, _ := f.content("Local/" + u + "/assignments/hw1/task.py"); c != "# task\n" {
			t.Errorf("%s got %q", u, c)
		}
	}
	if c, _ := f.content("Local/bob/assignments/hw1/task.py"); c != "bob's work\n" {
		t.Fatalf("bob's work overwritten: %q", c)
	}
	if f.exists("Local/dave/assignments/hw1") || f.exists("evil") {
		t.Fatal("failed users got something")
	}
	if !strings.Contains(res.Users[3].Reason, "MB") {
		t.Errorf("quota reason = %q", res.Users[3].Reason)
	}

	// A single file to the home itself.
	res, err = f.ws.Distribute(prof, course+"/week1.py", "", []string{"alice"})
	if err != nil || res.Copied != 1 || res.Users[0].Path != "Local/alice/week1.py" {
		t.Fatalf("%+v, %v", res, err)
	}
	_, err = f.ws.Distribute(prof, course+"/nope", "", []string{"alice"})
	wantCode(t, err, ErrNotFound)
	_, err = f.ws.Distribute(prof, course+"/week1.py", "../x", []string{"alice"})
	wantCode(t, err, ErrInvalid)
}

func TestDeepNestingIsBounded(t *testing.T) {
	f := newFixture(t, Options{})
	deep := "Local/alice/deep" + strings.Repeat("/d", maxDepth+2)
	f.mkdir(deep)
	f.put(deep+"/bottom.txt", "bottom")
	err := f.ws.Copy(alice, "Local/alice/deep", "Local/alice/deep2")
	wantCode(t, err, ErrInvalid)
	if f.exists("Local/alice/deep2") {
		t.Fatal("a failed copy left its target")
	}
	noTemps(t, f.host("Local/alice"))
	wantCode(t, f.ws.Zip(alice, "Local/alice/deep", io.Discard), ErrInvalid)
	if _, err := f.ws.Usage("alice"); err != nil {
		t.Fatalf("usage of a deeply nested home: %v", err)
	}
	if err := f.ws.Delete(alice, "Local/alice/deep"); err != nil || f.exists("Local/alice/deep") {
		t.Fatalf("delete deep folder: %v", err)
	}
}
