package cgroup

import "golang.org/x/sys/unix"

func rmdir(p string) error { return unix.Rmdir(p) }
