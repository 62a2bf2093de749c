// Package reaper is the cleanup service. On an interval it asks the registry
// which processes to stop (idle, over time, over memory, abandoned) and has
// the runner stop exactly those. It has no way to name a process by pid or
// by name: it can only pass on registry ids, so it can never signal the
// server, its process group, pid -1, or anything the server did not start.
package reaper

import (
	"context"
	"log/slog"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// Stopper stops a process the registry holds, by registry id.
type Stopper interface {
	StopID(id string, reason registry.Reason, message string) bool
}

// Service sweeps the registry.
type Service struct {
	reg   *registry.Registry
	stop  Stopper
	every time.Duration
	log   *slog.Logger
	// Swept, when set, is told of each sweep and what it stopped (metrics,
	// session tracking).
	Swept func(decisions []registry.Decision)
}

// New makes the cleanup service.
func New(reg *registry.Registry, stop Stopper, every time.Duration, log *slog.Logger) *Service {
	return &Service{reg: reg, stop: stop, every: every, log: log}
}

// Sweep runs one sweep and returns the decisions it carried out.
func (s *Service) Sweep() []registry.Decision {
	ds := s.reg.Sweep()
	for _, d := range ds {
		if s.stop.StopID(d.ID, d.Reason, d.Message) {
			s.log.Info("cleanup stopped a program", "id", d.ID, "reason", d.Reason)
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
