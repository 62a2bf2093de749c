package interp

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed driver/*.py
var driverFiles embed.FS

const (
	// DriverFile is the driver's file name inside the Install folder.
	DriverFile = "pythonide_driver.py"
	// MPLBackend is the MPLBACKEND value that sends figures as events; the
	// module sits beside the driver, which puts its folder on sys.path.
	MPLBackend = "module://pythonide_mpl"
)

// Install writes the embedded driver files into dir (created 0755 if needed,
// files 0644) and returns the driver's path. Each file is replaced by rename,
// so a process starting at the same moment sees the old file or the new one,
// never half of one; files that already hold the right bytes are not touched,
// so calling Install at every start-up is cheap. The runner bind-mounts dir
// read-only into the sandbox.
func Install(dir string) (driverPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("interp: create driver folder: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // MkdirAll honours the umask
		return "", fmt.Errorf("interp: driver folder permissions: %w", err)
	}
	entries, err := fs.ReadDir(driverFiles, "driver")
	if err != nil {
		return "", fmt.Errorf("interp: embedded driver: %w", err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(driverFiles, "driver/"+e.Name())
		if err != nil {
			return "", fmt.Errorf("interp: embedded driver: %w", err)
		}
		if err := installFile(filepath.Join(dir, e.Name()), data); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, DriverFile), nil
}

func installFile(path string, data []byte) error {
	if info, err := os.Lstat(path); err == nil && info.Mode().IsRegular() && info.Mode().Perm() == 0o644 {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".install-*")
	if err != nil {
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("interp: install %s: %w", filepath.Base(path), err)
	}
	return nil
}
