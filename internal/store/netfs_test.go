package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestNetworkFSClassification(t *testing.T) {
	tests := []struct {
		magic   uint32
		name    string
		network bool
	}{
		{0x6969, "nfs", true}, // AWS EFS mounts as NFSv4
		{0x517B, "smb", true},
		{0xFF534D42, "cifs", true},
		{0xFE534D42, "smb2", true},
		{0x65735546, "fuse", true},
		{0x00C36400, "ceph", true},
		{0x01021997, "9p", true},
		{0x5346414F, "afs", true},
		{0xEF53, "", false},     // ext2/3/4
		{0x58465342, "", false}, // xfs
		{0x9123683E, "", false}, // btrfs
		{0x01021994, "", false}, // tmpfs
		{0x794C7630, "", false}, // overlayfs (containers)
		{0x2FC12FC1, "", false}, // zfs
		{0, "", false},
	}
	for _, tt := range tests {
		name, network := networkFS(tt.magic)
		if name != tt.name || network != tt.network {
			t.Errorf("networkFS(0x%X) = %q, %v; want %q, %v", tt.magic, name, network, tt.name, tt.network)
		}
	}
}

// TestSigned32BitMagic guards the uint32 conversion: on 32-bit platforms
// f_type is an int32, so CIFS's magic arrives negative.
func TestSigned32BitMagic(t *testing.T) {
	var ftype int32 = -0xACB2BE // 0xFF534D42 as int32
	if name, ok := networkFS(uint32(ftype)); !ok || name != "cifs" {
		t.Fatalf("networkFS(uint32(int32 cifs)) = %q, %v", name, ok)
	}
}

func fakeStatfs(magic uint32) statfsFunc {
	return func(string) (uint32, bool, error) { return magic, true, nil }
}

func TestOpenSQLiteRefusesNetworkFS(t *testing.T) {
	tests := []struct {
		name    string
		magic   uint32
		allow   bool
		refused bool
	}{
		{"nfs refused", 0x6969, false, true},
		{"fuse refused", 0x65735546, false, true},
		{"cifs refused", 0xFF534D42, false, true},
		{"nfs allowed by option", 0x6969, true, false},
		{"ext4 fine", 0xEF53, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db", "p.db")
			db, err := openSQLite(path, Options{AllowNetworkFS: tt.allow}, fakeStatfs(tt.magic))
			if tt.refused {
				if !errors.Is(err, ErrNetworkFS) {
					t.Fatalf("err = %v, want ErrNetworkFS", err)
				}
				if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
					t.Errorf("refused open still created %s", path)
				}
				return
			}
			if err != nil {
				t.Fatalf("openSQLite: %v", err)
			}
			defer db.Close()
			if err := db.Ping(); err != nil {
				t.Fatalf("ping: %v", err)
			}
		})
	}
}

func TestStatfsErrorIsReported(t *testing.T) {
	boom := errors.New("boom")
	_, err := openSQLite(filepath.Join(t.TempDir(), "x.db"), Options{},
		func(string) (uint32, bool, error) { return 0, false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the statfs error", err)
	}
}

func TestStatfsMagicOnTempDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("statfs magics are Linux-only")
	}
	dir := t.TempDir()
	magic, ok, err := statfsMagic(dir)
	if err != nil || !ok {
		t.Fatalf("statfsMagic(%s) = %x, %v, %v", dir, magic, ok, err)
	}
	if name, network := networkFS(magic); network {
		t.Skipf("the temp dir is on a network filesystem (%s); cannot check the local case here", name)
	}
	if err := checkLocalFS(dir, false, statfsMagic); err != nil {
		t.Fatalf("local temp dir refused: %v", err)
	}
}
