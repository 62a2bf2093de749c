package runner

import "github.com/pythonide/pythonide/internal/registry"

// Refit stops u's programs, and ends u's warm interpreter, that were
// started for other limits than u's now (an exam began or ended:
// internal/exam), so none of them sees more than u may see now. Each
// program's owner is told message. It returns how many programs it stopped.
// Programs on other instances are refitted by theirs.
func (r *Runner) Refit(u User, message string) int {
	want := limitsKey(u.Limits)
	r.mu.Lock()
	var stop []*proc
	for _, p := range r.procs {
		if p.owner == u.Name && p.layout.limits != want {
			stop = append(stop, p)
		}
	}
	if w := r.pool.ready[u.Name]; w != nil && w.layout.limits != want {
		delete(r.pool.ready, u.Name)
		w.sp.Kill() // watchWarm cleans up
	}
	r.mu.Unlock()
	for _, p := range stop {
		p.stop(registry.ReasonAdmin, message)
	}
	return len(stop)
}
