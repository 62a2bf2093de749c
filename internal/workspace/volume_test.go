package workspace

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A data volume that is full or turned read-only gives each save a plain
// error with the right status, never "Something went wrong".
func TestVolumeErrorsAreExplained(t *testing.T) {
	cases := []struct {
		errno   syscall.Errno
		kind    error
		message string
	}{
		{syscall.ENOSPC, ErrDiskFull, "disk is full"},
		{syscall.EDQUOT, ErrDiskFull, "disk is full"},
		{syscall.EROFS, ErrReadOnly, "read-only"},
	}
	for _, tc := range cases {
		err := mapErr(&fs.PathError{Op: "write", Path: "/data/ide/Local/alice/.x", Err: tc.errno}, "Local/alice/x.py")
		if msg := message(err); !errors.Is(err, tc.kind) || !strings.Contains(msg, tc.message) || strings.Contains(msg, "/data") {
			t.Errorf("%v: %v %q", tc.errno, err, msg)
		}
	}
}

// mountTmpfs mounts a small tmpfs at a fresh folder, or skips the test
// saying why it cannot.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestVolumeFullThenReadOnly(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	ws, err := Open(filepath.Join(dir, "ide"), Options{MaxFileBytes: 4 << 20, QuotaBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.EnsureHome("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Write(alice, "Local/alice/small.py", strings.NewReader("print(1)\n"), ""); err != nil {
		t.Fatal(err)
	}
	// 2 MB into a 1 MB volume.
	_, err = ws.Write(alice, "Local/alice/big.bin", bytes.NewReader(make([]byte, 2<<20)), "")
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(message(err), "disk is full") {
		t.Fatalf("save on a full volume: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ide", "Local", "alice", "small.py")); string(got) != "print(1)\n" {
		t.Fatalf("the old file after a failed save: %q", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "ide", "Local", "alice")); len(entries) != 2 {
		t.Errorf("a failed save left something behind: %v", entries)
	}

	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("remounting read-only is not permitted here: %v", err)
	}
	for what, err := range map[string]error{
		"save": func() error {
			_, err := ws.Write(alice, "Local/alice/small.py", strings.NewReader("x"), "")
			return err
		}(),
		"mkdir":  ws.Mkdir(alice, "Local/alice/d"),
		"delete": ws.Delete(alice, "Local/alice/small.py"),
		"copy":   ws.Copy(alice, "Local/alice/small.py", "Local/alice/c.py"),
	} {
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(message(err), "read-only") {
			t.Errorf("%s on a read-only volume: %v", what, err)
		}
	}
	// Reading goes on.
	f, _, err := ws.Read(alice, "Local/alice/small.py")
	if err != nil {
		t.Fatalf("reading from a read-only volume: %v", err)
	}
	f.Close()
}

// TestZipLeavesOutNamesTheAPIRefuses: a program can create names that
// unzippers read as paths ("..\..\x" on Windows); the archive leaves them
// out as it leaves out links.
func TestZipLeavesOutNamesTheAPIRefuses(t *testing.T) {
	f := newFixture(t, Options{})
	f.mkdir("Local/alice/proj/sub")
	for _, n := range []string{`..\..\evil.py`, `sub\..\..\x.py`, "\xff.py", "new\nline.py", "ok.py", "sub/in.py"} {
		f.put("Local/alice/proj/"+n, "x")
	}
	var buf bytes.Buffer
	if err := f.ws.Zip(alice, "Local/alice/proj", &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range zr.File {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, "|"); got != "proj/|proj/ok.py|proj/sub/|proj/sub/in.py" {
		t.Errorf("zip entries %q", names)
	}
}
