package sandbox

import (
	"errors"
	"os"

	"github.com/pythonide/pythonide/internal/cgroup"
	"golang.org/x/sys/unix"
)

// killTree is the one place in the server that sends a kill signal. It
// kills every process of one program: the members of its cgroups — all at
// once through cgroup.kill; else frozen, so none can fork, while each gets
// SIGKILL; else each member, again until none is left, since forks race us —
// and its process group (pgid: the helper's pid, which heads its own session
// and cannot have been reused while it is not reaped; 0 for none).
//
// What it may signal is only what the group lists and the program's own
// group; it refuses pid 1, the server and the server's process group
// whatever it is given (the rule whose absence killed the system this
// replaces every 30 minutes).
func killTree(g *cgroup.Group, pgid int) error {
	var errs []error
	if g != nil {
		errs = append(errs, killMembers(g))
	}
	if pgid > 1 && pgid != os.Getpid() && pgid != unix.Getpgrp() {
		if err := unix.Kill(-pgid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func killMembers(g *cgroup.Group) error {
	if g.KillAll() == nil {
		return nil
	}
	if g.CanFreeze() && g.Freeze(true) == nil {
		err := signal(g.Members())
		g.Freeze(false)
		return err
	}
	var err error
	for i := 0; i < 20 && !g.Empty(); i++ {
		err = signal(g.Members())
	}
	return err
}

func signal(pids []int) error {
	var errs []error
	self := os.Getpid()
	for _, pid := range pids {
		if pid <= 1 || pid == self {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
