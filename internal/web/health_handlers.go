package web

import (
	"context"
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/monitor"
)

// healthz says only that the process serves HTTP: a liveness probe must not
// fail because a dependency did, or the orchestrator restarts a healthy server.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_seconds": int(time.Since(s.started).Seconds())})
}

type check struct {
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// readyz checks what serving a class needs: the database answers and the
// data volume takes a real write, fsync and read. It also reports the
// confinement layers students' programs run under.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]check{
		"database": timed(func() error { return s.store.Ping(ctx) }),
		"storage":  timed(func() error { return monitor.ProbeStorage(s.cfg.DataDir) }),
	}
	status, code := "ready", http.StatusOK
	for _, c := range checks {
		if !c.OK {
			status, code = "not_ready", http.StatusServiceUnavailable
		}
	}
	if s.draining.Load() {
		// Draining: the balancer must send nobody new here.
		status, code = "draining", http.StatusServiceUnavailable
	}
	body := map[string]any{"status": status, "checks": checks}
	if s.runner != nil {
		// The layers probed at start-up that confine students' programs.
		body["confinement"] = s.runner.Layers()
	}
	writeJSON(w, code, body)
}

func timed(f func() error) check {
	start := time.Now()
	err := f()
	c := check{OK: err == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		c.Error = err.Error()
	}
	return c
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apierror.New(apierror.NotFound, "There is no API route %s %s.", r.Method, r.URL.Path))
}
