package runner

import (
	"github.com/pythonide/pythonide/internal/cgroup"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// How the students share the CPU (where the sandbox has a cpu controller;
// niceness does the same, less exactly, where it has not):
//   - every student program together weighs a tenth of the server
//     (cgroup.StudentsWeight), so the server keeps its CPU whatever runs;
//   - a program is fresh until it has computed for a whole sample interval,
//     then busy: busy programs weigh a tenth of fresh ones, so a run a
//     student just started gets the CPU ahead of busy loops;
//   - a student's fresh programs share one fresh weight and their busy ones
//     one busy weight, so three busy loops of one student get no more CPU
//     than one busy loop of another.
//
// Weights are relative among the programs (siblings in the instance's
// subtree), so they are large enough to divide among a student's programs.
const (
	freshWeight = 10 * cgroup.DefaultWeight
	busyWeight  = cgroup.DefaultWeight
)

// reweigh gives each of owner's running programs its share of its class's
// weight.
func (r *Runner) reweigh(owner string) {
	type held struct {
		sp   *sandbox.Process
		busy bool
	}
	r.weighMu.Lock() // one at a time: a late writer must not undo a newer count
	defer r.weighMu.Unlock()
	var mine []*proc
	r.mu.Lock()
	for _, p := range r.procs {
		if p.owner == owner {
			mine = append(mine, p)
		}
	}
	r.mu.Unlock()
	var ps []held
	count := map[bool]int{}
	for _, p := range mine { // p.mu only after r.mu is let go
		p.mu.Lock()
		sp, busy := p.sp, p.busy
		p.mu.Unlock()
		if sp != nil {
			ps = append(ps, held{sp, busy})
			count[busy]++
		}
	}
	for _, h := range ps {
		w := freshWeight
		if h.busy {
			w = busyWeight
		}
		if err := h.sp.Weigh(max(w/count[h.busy], 1)); err != nil {
			r.log.Debug("setting a program's CPU weight failed", "owner", owner, "err", err)
		}
	}
}
