//go:build linux

package store

import "syscall"

func statfsMagic(path string) (uint32, bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false, err
	}
	return uint32(st.Type), true, nil
}
