package sandbox

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// BackgroundNice is the niceness of a program that has computed for a while.
// At nice 10 the kernel gives it about a tenth of the CPU a program at nice 0
// gets when both want it, so programs just starting, and interactive ones,
// stay quick beside a classroom of busy loops.
const BackgroundNice = 10

// Background lowers the CPU priority of the whole tree to BackgroundNice.
// Only processes of this program are touched: the members of its own
// cgroup, or without cgroups its process group (pgid == its pid, which
// cannot have been reused while it is not reaped). Children started later
// inherit the niceness. Calling it again is harmless and catches processes
// started since.
func (p *Process) Background() error { return p.renice(BackgroundNice) }

// Foreground brings the whole tree back to niceness 0 (a warm interpreter,
// started at Spec.Nice, that is now a student's run). Raising priority
// needs root; without it this fails with EACCES and the tree stays as it was.
func (p *Process) Foreground() error { return p.renice(0) }

func (p *Process) renice(nice int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	self := os.Getpid()
	var errs []error
	renice := func(which, who int) {
		if who <= 1 || who == self {
			return
		}
		if err := unix.Setpriority(which, who, nice); err != nil && err != unix.ESRCH {
			errs = append(errs, err)
		}
	}
	var members []int
	if p.g != nil {
		members = p.g.Members()
	}
	for _, pid := range members {
		renice(unix.PRIO_PROCESS, pid)
	}
	if len(members) == 0 {
		renice(unix.PRIO_PGRP, p.cmd.Process.Pid)
	}
	return errors.Join(errs...)
}

// Weigh sets the program's share of the students' CPU (cgroup.DefaultWeight
// is an ordinary program's); without a cpu controller it does nothing, and
// niceness (Background) is all there is.
func (p *Process) Weigh(weight int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped || p.g == nil {
		return nil
	}
	return p.g.SetCPUWeight(weight)
}
