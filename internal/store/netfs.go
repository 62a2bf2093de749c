package store

import (
	"errors"
	"fmt"
)

// ErrNetworkFS is returned by Open for a SQLite path on a network filesystem
// when Options.AllowNetworkFS is not set.
var ErrNetworkFS = errors.New("SQLite database on a network filesystem")

// networkFS names the filesystem when the statfs(2) f_type magic is one whose
// locking SQLite cannot trust (NFS — which is what AWS EFS is — SMB/CIFS,
// FUSE, and the cluster filesystems). Local filesystems report "", false.
// Magics are compared as uint32: f_type is a signed long whose width differs
// by architecture, and every magic fits in 32 bits.
func networkFS(magic uint32) (string, bool) {
	switch magic {
	case 0x6969:
		return "nfs", true
	case 0x517B:
		return "smb", true
	case 0xFF534D42:
		return "cifs", true
	case 0xFE534D42:
		return "smb2", true
	case 0x65735546:
		return "fuse", true
	case 0x73757245:
		return "coda", true
	case 0x5346414F:
		return "afs", true
	case 0x6B414653:
		return "kafs", true
	case 0x00C36400:
		return "ceph", true
	case 0x01021997:
		return "9p", true
	case 0x564C:
		return "ncp", true
	case 0x01161970:
		return "gfs2", true
	case 0x7461636F:
		return "ocfs2", true
	case 0x0BD00BD0:
		return "lustre", true
	case 0x47504653:
		return "gpfs", true
	case 0x20030528:
		return "orangefs", true
	}
	return "", false
}

// statfsFunc returns the filesystem magic of path; ok is false where the
// platform cannot tell, in which case the check is skipped.
type statfsFunc func(path string) (magic uint32, ok bool, err error)

// checkLocalFS refuses a path on a network filesystem unless allowed.
func checkLocalFS(path string, allow bool, statfs statfsFunc) error {
	magic, ok, err := statfs(path)
	if err != nil {
		return fmt.Errorf("store: checking the filesystem of %s: %w", path, err)
	}
	if !ok || allow {
		return nil
	}
	if name, network := networkFS(magic); network {
		return fmt.Errorf("store: %s is on a network filesystem (%s, magic 0x%X); "+
			"SQLite locking is unreliable there and the database can be corrupted. "+
			"Put the SQLite file on a local disk, use PostgreSQL (a postgres:// URL), "+
			"or explicitly allow network filesystems: %w", path, name, magic, ErrNetworkFS)
	}
	return nil
}
