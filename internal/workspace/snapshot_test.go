package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSnapshot(t *testing.T) {
	f := newFixture(t, Options{QuotaBytes: 1 << 20, QuotaFiles: 10})
	f.mkdir("Local/alice/hw/data")
	f.put("Local/alice/hw/main.py", "print(1)\n")
	f.put("Local/alice/hw/data/in.txt", "42\n")
	f.symlink("../../bob", "Local/alice/hw/peek")
	dest := filepath.Join(t.TempDir(), "subs", "hw", "alice", "1")
	files, bytes, err := f.ws.Snapshot(alice, "Local/alice/hw", dest)
	if err != nil {
		t.Fatal(err)
	}
	if files != 4 || bytes != 12 { // main.py, data, data/in.txt, the link counted; 9+3 bytes
		t.Errorf("snapshot of %d entries, %d bytes", files, bytes)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "data", "in.txt")); string(b) != "42\n" {
		t.Errorf("data/in.txt = %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dest, "peek")); err == nil {
		t.Error("a link was copied into the snapshot")
	}
	// A later edit of the home leaves the snapshot as it was.
	f.put("Local/alice/hw/main.py", "print(2)\n")
	if b, _ := os.ReadFile(filepath.Join(dest, "main.py")); string(b) != "print(1)\n" {
		t.Errorf("the snapshot changed with the home: %q", b)
	}
	// Never over an existing one, and no temp left behind.
	if _, _, err := f.ws.Snapshot(alice, "Local/alice/hw", dest); err == nil {
		t.Error("a snapshot over an existing one")
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Errorf("beside the snapshot: %v", entries)
	}
	// Only a folder of one's own home.
	f.mkdir("Local/bob/hw")
	f.put("Local/bob/hw/x.py", "")
	_, _, err = f.ws.Snapshot(alice, "Local/bob/hw", dest+"b")
	wantCode(t, err, ErrNotFound)
	_, _, err = f.ws.Snapshot(alice, "Local/alice", dest+"c")
	wantCode(t, err, ErrInvalid)
	_, _, err = f.ws.Snapshot(alice, "Local/alice/hw/main.py", dest+"d")
	wantCode(t, err, ErrInvalid)
	// Bounded like a home.
	f.mkdir("Local/alice/big")
	for i := range 11 {
		f.put("Local/alice/big/f"+string(rune('a'+i))+".py", "")
	}
	_, _, err = f.ws.Snapshot(alice, "Local/alice/big", dest+"e")
	wantCode(t, err, ErrQuota)
	if _, err := os.Stat(dest + "e"); err == nil {
		t.Error("a refused snapshot left a folder")
	}
}
