package runner

import (
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

// The file API checks the storage quota before every save, but a program
// writes straight to its home (RLIMIT_FSIZE bounds each file, not their
// number). So while an owner's programs run, their home is measured every
// QuotaEvery, and every tenth of that while it keeps growing; once it holds
// more than the quota (bytes, or files and folders), the owner's programs
// are stopped with reason output_limit: files written are output too. A
// program can overshoot by what it writes between two measurements
// (docs/processes.md, "Disk").

// homeWatch is the last measurement of a home.
type homeWatch struct {
	at      time.Time
	usage   workspace.HomeUsage
	growing bool // it grew since the measurement before (or this was the first)
}

// watchQuotas runs until stop is closed.
func (r *Runner) watchQuotas(stop <-chan struct{}) {
	t := time.NewTicker(r.opts.QuotaEvery / 10)
	defer t.Stop()
	seen := map[string]homeWatch{}
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.checkQuotas(now, seen)
		}
	}
}

// checkQuotas measures the homes of owners with programs that are due (seen
// holds the last measurements) and stops the programs of those over quota.
func (r *Runner) checkQuotas(now time.Time, seen map[string]homeWatch) {
	byOwner := map[string][]*proc{}
	r.mu.Lock()
	for _, p := range r.procs {
		byOwner[p.owner] = append(byOwner[p.owner], p)
	}
	r.mu.Unlock()
	for owner := range seen {
		if byOwner[owner] == nil {
			delete(seen, owner)
		}
	}
	for owner, ps := range byOwner {
		last, ok := seen[owner]
		if ok && !last.growing && now.Sub(last.at) < r.opts.QuotaEvery {
			continue
		}
		u, err := r.ws.Measure(owner)
		if err != nil {
			continue // no home yet, or it vanished: nothing written to count
		}
		// A program just started is watched closely until its home is seen
		// not to grow.
		seen[owner] = homeWatch{at: now, usage: u,
			growing: !ok || u.Bytes > last.usage.Bytes || u.Entries > last.usage.Entries}
		if over := r.ws.OverQuota(u); over != "" {
			msg := "Stopped: " + over + " Programs cannot run while it is; delete some files, then run again."
			for _, p := range ps {
				p.stop(registry.ReasonOutputLimit, msg)
			}
		}
	}
}
