package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"

	"github.com/pythonide/pythonide/internal/cgroup"
)

// The mechanism of start-up reaping: what is in our cgroup subtree that
// this sandbox did not start, and killing it. Deciding what to reap is the
// cleanup package's (cleanup.ReapLeftovers).

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

// InstanceRunning reports whether the server an instance subtree is named
// after (Leftovers.Instances) still runs: its pid is alive with the start
// time in the name.
func InstanceRunning(instance string) bool {
	pid, start, ok := cgroup.ParseInstance(instance)
	if !ok {
		return false
	}
	now, err := procStartTime(pid)
	return err == nil && now == start
}

// Leftovers are the cgroups below our --cgroup-name folder that hold no
// process of this sandbox.
type Leftovers struct {
	Own       []string            // process groups in our own subtree that we did not start
	Loose     []string            // process groups directly in the shared folder (the layout before instance subtrees)
	Instances map[string][]string // other servers' subtrees and their process groups
}

// Leftovers lists them. A group found is only a name: ReapGroup re-reads
// its members when it kills them.
func (s *Sandbox) Leftovers() Leftovers {
	lo := Leftovers{Instances: map[string][]string{}}
	for name := range s.tree.Groups(s.tree.Instance()) {
		if !s.isLive(name) {
			lo.Own = append(lo.Own, name)
		}
	}
	instances, loose := s.tree.Instances()
	lo.Loose = loose
	for _, inst := range instances {
		var names []string
		for name := range s.tree.Groups(inst) {
			names = append(names, name)
		}
		slices.Sort(names)
		lo.Instances[inst] = names
	}
	slices.Sort(lo.Own)
	return lo
}

func (s *Sandbox) isLive(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[name]
}

// ReapGroup kills every process of the leftover group name — in instance's
// subtree, "" for a loose one, Instance() for our own — and removes it. It
// refuses a group of ours that holds a running process. It returns how
// many processes it killed.
func (s *Sandbox) ReapGroup(instance, name string) (int, error) {
	if instance == s.tree.Instance() && s.isLive(name) {
		return 0, fmt.Errorf("sandbox: %s is a running process of this server", name)
	}
	g := s.tree.Groups(instance)[name]
	if g == nil {
		return 0, nil
	}
	n := len(g.Members())
	if err := killTree(g, 0); err != nil {
		return 0, err
	}
	if err := g.Remove(); err != nil {
		return n, errors.New("sandbox: leftover cgroup " + name + ": " + err.Error())
	}
	return n, nil
}

// RemoveInstance removes another server's subtree once its groups are reaped.
func (s *Sandbox) RemoveInstance(instance string) error {
	if instance == s.tree.Instance() {
		return errors.New("sandbox: that is this server's own subtree")
	}
	return s.tree.RemoveInstance(instance)
}

// Instance is this server's subtree name (Leftovers, ReapGroup).
func (s *Sandbox) Instance() string { return s.tree.Instance() }
