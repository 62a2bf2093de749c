package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
)

// ReapLeftovers kills every process in cgroups of our subtree that this
// instance did not start (left by a previous instance that crashed) and
// removes those cgroups. It finds processes only through cgroup membership,
// never by matching names, so nothing outside our subtree is touched. It
// returns how many processes were killed.
func (s *Sandbox) ReapLeftovers(ctx context.Context) (int, error) {
	names := map[string]*group{}
	add := func(parent string, set func(g *group, dir string)) {
		if parent == "" {
			return
		}
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			g := names[e.Name()]
			if g == nil {
				g = &group{v1: map[string]string{}, limits: s.cg.v2Limits}
				names[e.Name()] = g
			}
			set(g, filepath.Join(parent, e.Name()))
		}
	}
	add(s.cg.v2, func(g *group, d string) { g.v2 = d })
	for ctrl, parent := range s.cg.v1 {
		add(parent, func(g *group, d string) { g.v1[ctrl] = d })
	}
	killed := 0
	var errs []error
	for name, g := range names {
		if ctx.Err() != nil {
			return killed, ctx.Err()
		}
		s.mu.Lock()
		live := s.live[name]
		s.mu.Unlock()
		if live {
			continue
		}
		pids := map[int]bool{}
		for _, d := range append([]string{g.v2}, mapValues(g.v1)...) {
			if d != "" {
				for _, pid := range members(d) {
					pids[pid] = true
				}
			}
		}
		if err := g.kill(); err != nil {
			errs = append(errs, err)
		}
		if !waitUntil(g.empty) {
			errs = append(errs, errors.New("sandbox: leftover cgroup "+name+" did not empty"))
			continue
		}
		killed += len(pids)
		if err := g.remove(); err != nil {
			errs = append(errs, err)
		}
		s.log.Warn("sandbox: reaped leftover cgroup", "name", name, "processes", len(pids))
	}
	return killed, errors.Join(errs...)
}
