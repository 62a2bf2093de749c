package sandbox

import (
	"context"
	"errors"
	"os"
	"sync/atomic"

	"github.com/pythonide/pythonide/internal/cgroup"
)

// instanceSeq tells apart several sandboxes of one process (tests).
var instanceSeq atomic.Int64

// newInstanceName names this instance's cgroup subtree after the server
// process (cgroup.InstanceName), so its pid and start time say whether the
// instance still runs.
func newInstanceName() string {
	pid := os.Getpid()
	start, _ := procStartTime(pid)
	return cgroup.InstanceName(pid, start, int(instanceSeq.Add(1)))
}

// instanceAlive reports whether the server an instance subtree is named
// after still runs.
func instanceAlive(name string) bool {
	pid, start, ok := cgroup.ParseInstance(name)
	if !ok {
		return false
	}
	now, err := procStartTime(pid)
	return err == nil && now == start
}

// ReapLeftovers kills the processes a previous server left behind and
// removes their cgroups: every instance subtree below our <name> folder
// whose server no longer runs, process cgroups sitting directly in that
// folder (the layout before instance subtrees), and process cgroups in our
// own subtree that this sandbox did not start. A live neighbour's subtree is
// never touched. Processes are found only through cgroup membership, never
// by matching names, so nothing outside our subtree is touched. It returns
// how many processes were killed.
func (s *Sandbox) ReapLeftovers(ctx context.Context) (int, error) {
	killed := 0
	var errs []error
	reap := func(groups map[string]*cgroup.Group, skipLive bool) {
		for name, g := range groups {
			if ctx.Err() != nil {
				return
			}
			if skipLive {
				s.mu.Lock()
				live := s.live[name]
				s.mu.Unlock()
				if live {
					continue
				}
			}
			n, err := s.reapGroup(name, g)
			killed += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	reap(s.tree.Groups(s.tree.Instance()), true)
	instances, _ := s.tree.Instances()
	reap(s.tree.Groups(""), false)
	for _, inst := range instances {
		if instanceAlive(inst) {
			continue
		}
		reap(s.tree.Groups(inst), false)
		if err := s.tree.RemoveInstance(inst); err != nil {
			errs = append(errs, err)
		}
		s.log.Warn("sandbox: removed the cgroup subtree of a server that no longer runs", "instance", inst)
	}
	if ctx.Err() != nil {
		return killed, ctx.Err()
	}
	return killed, errors.Join(errs...)
}

// reapGroup kills every member of a leftover cgroup and removes it.
func (s *Sandbox) reapGroup(name string, g *cgroup.Group) (int, error) {
	pids := len(g.Members())
	if err := killTree(g, 0); err != nil {
		return 0, err
	}
	if err := g.Remove(); err != nil {
		return pids, errors.New("sandbox: leftover cgroup " + name + ": " + err.Error())
	}
	s.log.Warn("sandbox: reaped leftover cgroup", "name", name, "processes", pids)
	return pids, nil
}
