package cgroup

import (
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the cgroup file system as this package uses it: names are absolute
// paths as the machine has them (/sys/fs/cgroup/…, /proc/self/cgroup).
type FS interface {
	ReadFile(name string) ([]byte, error)
	// WriteFile writes value to an existing file (cgroup files are never
	// created by writing; a folder made by Mkdir has them all).
	WriteFile(name, value string) error
	Mkdir(name string) error
	Rmdir(name string) error
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// Path is where name is for the kernel: for a descriptor (placement at
	// clone) or a process's own writes (the sandbox helper joining v1).
	Path(name string) string
}

// Root is the FS whose names are below dir: "/" is the machine's; a test
// gives a folder of fixture files.
func Root(dir string) FS { return root(dir) }

type root string

func (r root) Path(name string) string { return filepath.Join(string(r), name) }

func (r root) ReadFile(name string) ([]byte, error) { return os.ReadFile(r.Path(name)) }

func (r root) WriteFile(name, value string) error {
	f, err := os.OpenFile(r.Path(name), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r root) Mkdir(name string) error { return os.Mkdir(r.Path(name), 0o755) }

// Rmdir removes an empty folder; a cgroup folder holds kernel files that
// unlinkat(AT_REMOVEDIR) ignores, which os.Remove would try first.
func (r root) Rmdir(name string) error { return rmdir(r.Path(name)) }

func (r root) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(r.Path(name)) }

func (r root) Stat(name string) (fs.FileInfo, error) { return os.Stat(r.Path(name)) }

func readString(fsys FS, name string) string {
	b, _ := fsys.ReadFile(name)
	return string(b)
}

func exists(fsys FS, name string) bool {
	_, err := fsys.Stat(name)
	return err == nil
}
