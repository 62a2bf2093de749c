//go:build !linux

package store

// statfsMagic cannot classify filesystems off Linux (f_type magics are a
// Linux notion), so the network-filesystem check is skipped there.
func statfsMagic(string) (uint32, bool, error) { return 0, false, nil }
