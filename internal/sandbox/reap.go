package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// instanceSeq tells apart several sandboxes of one process (tests).
var instanceSeq atomic.Int64

// newInstanceName names this instance's cgroup subtree after the server
// process: "i<pid>-<start time>" (and "-<n>" for a second sandbox in the same
// process). The pid and start time say whether the instance still runs.
func newInstanceName() string {
	pid := os.Getpid()
	start, _ := procStartTime(pid)
	name := "i" + strconv.Itoa(pid) + "-" + strconv.FormatUint(start, 10)
	if n := instanceSeq.Add(1); n > 1 {
		name += "-" + strconv.FormatInt(n, 10)
	}
	return name
}

// instanceAlive reports whether name is an instance subtree whose server
// still runs; ok is false when name is not an instance's name at all.
func instanceAlive(name string) (alive, ok bool) {
	f := strings.Split(name, "-")
	if len(f) < 2 || len(f) > 3 || !strings.HasPrefix(f[0], "i") {
		return false, false
	}
	pid, err1 := strconv.Atoi(f[0][1:])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return false, false
	}
	now, err := procStartTime(pid)
	return err == nil && now == start, true
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
	reap := func(groups map[string]*group, skipLive bool) {
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
	// Our own subtree: only ids we did not start.
	own := map[string]string{}
	if s.cg.v2 != "" {
		own[""] = s.cg.v2
	}
	for ctrl, d := range s.cg.v1 {
		own[ctrl] = d
	}
	reap(s.groupsIn(own), true)

	// The shared folder: dead instances, and old-layout process cgroups.
	legacy := map[string]string{}
	deadInstances := map[string]bool{}
	for hier, base := range s.cg.bases() {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if !e.IsDir() || e.Name() == s.cg.instance {
				continue
			}
			alive, isInstance := instanceAlive(e.Name())
			switch {
			case !isInstance:
				legacy[hier] = base
			case !alive:
				deadInstances[e.Name()] = true
			}
		}
	}
	reap(s.groupsIn(legacy), false)
	for inst := range deadInstances {
		dirs := map[string]string{}
		for hier, base := range s.cg.bases() {
			dirs[hier] = filepath.Join(base, inst)
		}
		reap(s.groupsIn(dirs), false)
		for _, d := range dirs {
			if err := rmdirRetry(d); err != nil {
				errs = append(errs, err)
			}
		}
		s.log.Warn("sandbox: removed the cgroup subtree of a server that no longer runs", "instance", inst)
	}
	if ctx.Err() != nil {
		return killed, ctx.Err()
	}
	return killed, errors.Join(errs...)
}

// groupsIn gathers the process cgroups below the given folders (one per
// hierarchy, "" for v2), by name, skipping names that are instance
// subtrees.
func (s *Sandbox) groupsIn(parents map[string]string) map[string]*group {
	names := map[string]*group{}
	for hier, parent := range parents {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if _, isInstance := instanceAlive(e.Name()); isInstance {
				continue
			}
			g := names[e.Name()]
			if g == nil {
				g = &group{v1: map[string]string{}, limits: s.cg.v2Limits}
				names[e.Name()] = g
			}
			d := filepath.Join(parent, e.Name())
			if hier == "" {
				g.v2 = d
			} else {
				g.v1[hier] = d
			}
		}
	}
	return names
}

// reapGroup kills every member of a leftover cgroup and removes it.
func (s *Sandbox) reapGroup(name string, g *group) (int, error) {
	pids := len(g.allMembers())
	if err := g.kill(); err != nil {
		return 0, err
	}
	if !waitUntil(g.empty) {
		return 0, errors.New("sandbox: leftover cgroup " + name + " did not empty")
	}
	if err := g.remove(); err != nil {
		return pids, err
	}
	s.log.Warn("sandbox: reaped leftover cgroup", "name", name, "processes", pids)
	return pids, nil
}
