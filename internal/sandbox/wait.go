package sandbox

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Wait waits for the process to end, kills whatever it left behind, removes
// its cgroup and says why it ended. Every call returns the same Exit.
func (p *Process) Wait() Exit {
	p.once.Do(func() { p.exit = p.wait() })
	return p.exit
}

func (p *Process) wait() Exit {
	pid := p.cmd.Process.Pid
	// Wait for the exit without reaping: until we reap, the pid and its
	// process group cannot be reused, so killing leftovers by pgid is safe.
	for {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	killTree(p.g, pid) // what it left behind: its group and background children
	p.reaped = true
	killed := p.killed
	p.mu.Unlock()

	p.cmd.Wait() // the status is in ProcessState; errors only repeat it
	if p.stdinW != nil {
		p.stdinW.Close()
	}
	p.drain()

	e := Exit{Code: -1}
	oom := false
	if p.g != nil {
		oom = p.g.OOMKilled()
		if _, cpu, ok := p.g.Usage(); ok {
			e.CPUSeconds = cpu
		}
		if err := p.g.Remove(); err != nil {
			p.s.log.Error("sandbox: cgroup not removed", "id", p.id, "err", err)
		}
	}
	p.s.release(p.id)
	if ps := p.cmd.ProcessState; ps != nil {
		if e.CPUSeconds == 0 {
			// wait4's rusage includes the descendants the child reaped.
			e.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
		}
		ws := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			e.Signal = unix.SignalName(ws.Signal())
		case p.bwrap && ws.ExitStatus() > 128 && ws.ExitStatus() <= 128+64:
			// bubblewrap reports a child killed by signal N as 128+N.
			e.Signal = unix.SignalName(syscall.Signal(ws.ExitStatus() - 128))
		default:
			e.Code = ws.ExitStatus()
		}
	}
	switch {
	case oom:
		e.Reason = ReasonMemory
	case e.Signal == "SIGXCPU" || e.Signal == "SIGKILL" && e.CPUSeconds >= float64(p.s.cfg.CPUSeconds):
		e.Reason = ReasonCPU
	case killed:
		e.Reason = ReasonKilled
	case e.Code == 0:
		e.Reason = ReasonExited
	default:
		e.Reason = ReasonError
	}
	return e
}

// drain lets the output copies finish, for at most outputDrain: a
// daemonised grandchild outside any cgroup could hold the pipe forever.
func (p *Process) drain() {
	done := make(chan struct{})
	go func() { p.copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(outputDrain):
	}
	for _, f := range p.readEnd {
		f.Close()
	}
	<-done
}

// Usage is the tree's memory and CPU time: from its cgroup where there is
// one, else summed over its descendants in /proc.
func (p *Process) Usage() (memBytes int64, cpuSeconds float64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return 0, 0, errors.New("sandbox: process has ended")
	}
	if p.g != nil {
		if m, c, ok := p.g.Usage(); ok {
			return m, c, nil
		}
	}
	return procTreeUsage(p.cmd.Process.Pid)
}

// pipes connects the standard streams. Writers that are not files get a
// pipe we copy from ourselves, so Wait controls how long copying may last.
func (p *Process) pipes(spec Spec) error {
	cmd := p.cmd
	switch in := spec.Stdin.(type) {
	case nil:
	case *os.File:
		cmd.Stdin = in
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stdin, p.stdinW = r, w
		p.childEnd = append(p.childEnd, r)
	}
	out, err := p.outPipe(spec.Stdout)
	if err != nil {
		return err
	}
	cmd.Stdout = out
	if spec.Stderr != nil && sameWriter(spec.Stderr, spec.Stdout) {
		// One pipe, one copier: the writer never sees concurrent writes.
		cmd.Stderr = out
		return nil
	}
	cmd.Stderr, err = p.outPipe(spec.Stderr)
	return err
}

func (p *Process) outPipe(w io.Writer) (io.Writer, error) {
	switch w := w.(type) {
	case nil:
		return nil, nil
	case *os.File:
		return w, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.readEnd = append(p.readEnd, r)
	p.childEnd = append(p.childEnd, pw)
	p.copies.Add(1)
	go func() {
		defer p.copies.Done()
		// A small buffer: it lives as long as the process, for every
		// process, and io.Copy's default is 32 KiB.
		io.CopyBuffer(w, struct{ io.Reader }{r}, make([]byte, 4<<10))
	}()
	return pw, nil
}

func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }() // uncomparable dynamic types
	return a == b
}

// closeChildEnds closes our copies of the child's pipe ends after Start.
func (p *Process) closeChildEnds() {
	for _, f := range p.childEnd {
		f.Close()
	}
	p.childEnd = nil
}

func (p *Process) copyInput(in io.Reader) {
	if p.stdinW == nil {
		return
	}
	go func() {
		io.Copy(p.stdinW, in)
		p.stdinW.Close()
	}()
}

// closePipes undoes pipes after a failed start.
func (p *Process) closePipes() {
	p.closeChildEnds()
	if p.stdinW != nil {
		p.stdinW.Close()
	}
	for _, f := range p.readEnd {
		f.Close()
	}
}
