package registry

import (
	"slices"
	"strings"
)

// Decision is one process the sweep says to stop, why, and the sentence the
// student sees.
type Decision struct {
	ID      string
	Reason  Reason
	Message string
}

// Sweep decides which held processes to stop; it changes nothing. The
// caller stops each one and then Removes it; until then a later sweep will
// decide the same again, so stopping must be idempotent. Only ids the
// registry holds can appear: the sweep cannot name anything the server did
// not start.
//
// A limit is broken only when strictly exceeded. When several apply, one
// decision is made, in this order: a spawn that never reported Started,
// memory, wall-clock, a wait for input, idleness, abandonment.
func (r *Registry) Sweep() []Decision {
	r.mu.Lock()
	now := r.clock.Now()
	l := r.limits
	var out []Decision
	for _, p := range r.procs {
		o := r.owners[p.owner]
		var reason Reason
		var msg string
		switch {
		case p.state == StateStarting:
			if now.Sub(p.admittedAt) > l.StartTimeout {
				reason, msg = ReasonError, startTimeoutMessage()
			}
		case p.mem > l.MemoryPerProc:
			reason = ReasonMemoryLimit
		case p.runTime(now) > l.WallClock:
			reason = ReasonTimeout
		case p.state == StateWaitingInput:
			if now.Sub(p.stateSince) > l.InputTimeout {
				reason, msg = ReasonIdle, inputTimeoutMessage(l)
			}
		case now.Sub(p.lastActivity) > l.IdleTimeout:
			reason = ReasonIdle
		}
		// Abandonment applies in every state, starting included: a spawn
		// nobody is waiting for is not worth finishing.
		if reason == "" && o.conns == 0 && now.Sub(o.since) > l.AbandonGrace {
			reason = ReasonAbandoned
		}
		if reason != "" {
			if msg == "" {
				msg = reason.Message(l)
			}
			out = append(out, Decision{ID: p.id, Reason: reason, Message: msg})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Decision) int { return strings.Compare(a.ID, b.ID) })
	return out
}
