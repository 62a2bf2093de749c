package cleanup

import (
	"slices"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// Decision is one process to stop, why, and the sentence the student sees.
type Decision struct {
	ID      string
	Reason  registry.Reason
	Message string
	// Ref, for a start that failed on the server's side (a spawn that never
	// reported Started), is the reference the message gives the student,
	// logged with the process when it is stopped.
	Ref string
}

// Decide says which of the registry's processes (a Snapshot taken at now)
// to stop under l; it changes nothing. The caller stops each one and the
// runner then removes it from the registry; until then a later sweep decides
// the same again, so stopping must be idempotent. Only processes of the
// snapshot can appear: a decision cannot name anything the server did not
// start.
//
// A limit is broken only when strictly exceeded. When several apply, one
// decision is made, in this order: a spawn that never reported Started,
// memory, wall-clock, a wait for input, idleness, abandonment.
func Decide(ps []registry.Process, l registry.Limits, now time.Time) []Decision {
	var out []Decision
	for _, p := range ps {
		var reason registry.Reason
		var msg, ref string
		switch {
		case p.State == registry.StateStarting:
			if now.Sub(p.AdmittedAt) > l.StartTimeout {
				ref = registry.RefFor(p.ID)
				reason, msg = registry.ReasonError, registry.StartTimeoutMessage(ref)
			}
		case p.MemoryBytes > l.MemoryPerProc:
			reason = registry.ReasonMemoryLimit
		case p.RunTime > l.WallClock:
			reason = registry.ReasonTimeout
		case p.State == registry.StateWaitingInput:
			if now.Sub(p.StateSince) > l.InputTimeout {
				reason, msg = registry.ReasonIdle, registry.InputTimeoutMessage(l)
			}
		case now.Sub(p.LastActivity) > l.IdleTimeout:
			reason = registry.ReasonIdle
		}
		// Abandonment applies in every state, starting included: a spawn
		// nobody is waiting for is not worth finishing.
		if reason == "" && !p.OwnerConnected && now.Sub(p.OwnerAwaySince) > l.AbandonGrace {
			reason = registry.ReasonAbandoned
		}
		if reason != "" {
			if msg == "" {
				msg = reason.Message(l)
			}
			out = append(out, Decision{ID: p.ID, Reason: reason, Message: msg, Ref: ref})
		}
	}
	slices.SortFunc(out, func(a, b Decision) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Reasons are the reasons of ds, in order (for the exit metrics).
func Reasons(ds []Decision) []registry.Reason {
	out := make([]registry.Reason, len(ds))
	for i, d := range ds {
		out[i] = d.Reason
	}
	return out
}
