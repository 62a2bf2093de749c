// Package cleanup is the one place that ends processes nobody asked to end:
// on an interval it decides (Decide) which of the registry's processes to
// stop — idle, over their time or memory, waiting too long for input,
// abandoned, a spawn that never started — and has the runner stop exactly
// those; at start-up it reaps what a server that no longer runs left behind
// (ReapLeftovers).
//
// The rule that kept the system this replaces dying every 30 minutes —
// never kill the server, nor anything it did not start — holds by
// construction: a sweep can only name registry ids, which the runner maps to
// processes it spawned itself; start-up reaping finds processes only through
// membership of the server's own cgroup subtree, never by pid or by name;
// and the sandbox's one kill function refuses pid 1, the server and its
// process group whatever it is given.
package cleanup

import (
	"context"
	"log/slog"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// Stopper stops a process the registry holds, by registry id.
type Stopper interface {
	// ref is the reference message gives, for a failure on the server's side.
	StopID(id string, reason registry.Reason, message, ref string) bool
}

// Service sweeps the registry.
type Service struct {
	reg   *registry.Registry
	stop  Stopper
	every time.Duration
	log   *slog.Logger
	// Swept, when set, is told of each sweep and what it stopped (metrics,
	// session tracking).
	Swept func(decisions []Decision)
}

// New makes the cleanup service.
func New(reg *registry.Registry, stop Stopper, every time.Duration, log *slog.Logger) *Service {
	return &Service{reg: reg, stop: stop, every: every, log: log}
}

// Sweep runs one sweep and returns the decisions it carried out.
func (s *Service) Sweep() []Decision {
	ds := Decide(s.reg.View())
	for _, d := range ds {
		if s.stop.StopID(d.ID, d.Reason, d.Message, d.Ref) {
			if d.Ref != "" {
				// The student was given d.Ref: the teacher finds it here.
				s.log.Error("a program's start timed out on the server; cleanup stopped it", "id", d.ID, "reason", d.Reason, "ref", d.Ref, "retry", true,
					"err", "the sandbox did not report the start within the start timeout")
			} else {
				s.log.Info("cleanup stopped a program", "id", d.ID, "reason", d.Reason)
			}
		}
	}
	if s.Swept != nil {
		s.Swept(ds)
	}
	return ds
}

// Run sweeps every interval until ctx ends. A panic in one sweep is logged
// and the next sweep goes on: the cleanup service must never take the
// server down, which is how the system it replaces died.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.safeSweep()
		}
	}
}

func (s *Service) safeSweep() {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("cleanup sweep panicked; the next sweep goes on", "panic", v)
		}
	}()
	s.Sweep()
}
