package interp

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "driver")
	driver, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	if driver != filepath.Join(dir, DriverFile) {
		t.Errorf("driver path %q", driver)
	}
	want := listEmbedded(t)
	if got := listDir(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("installed %v, want exactly %v", got, want)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("folder mode %v (%v), want 0755", info.Mode().Perm(), err)
	}
	for _, name := range want {
		checkInstalled(t, dir, name)
	}

	// Idempotent: a second call leaves correct files alone (same inode).
	before, _ := os.Stat(driver)
	if _, err := Install(dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(driver); !os.SameFile(before, after) {
		t.Errorf("an up-to-date driver was rewritten")
	}

	// Repairs: a modified file, a wrong mode and a missing file are restored.
	if err := os.WriteFile(driver, []byte("print('tampered')"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "pythonide_mpl.py"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		checkInstalled(t, dir, name)
	}
	if got := listDir(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("after repair the folder holds %v (temporary files left?)", got)
	}
}

func TestInstallIntoAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(file); err == nil {
		t.Errorf("Install into a regular file succeeded")
	}
}

func checkInstalled(t *testing.T, dir, name string) {
	t.Helper()
	want, err := fs.ReadFile(driverFiles, "driver/"+name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || string(got) != string(want) {
		t.Errorf("%s differs from the embedded copy (%v)", name, err)
	}
	if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("%s mode %v (%v), want 0644", name, info.Mode().Perm(), err)
	}
}

func listEmbedded(t *testing.T) []string {
	entries, err := fs.ReadDir(driverFiles, "driver")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func listDir(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
