package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
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
// data volume takes a real write, fsync and read.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]check{
		"database": timed(func() error { return s.store.Ping(ctx) }),
		"storage":  timed(func() error { return probeStorage(s.cfg.DataDir) }),
	}
	status, code := "ready", http.StatusOK
	for _, c := range checks {
		if !c.OK {
			status, code = "not_ready", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
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

// probeStorage writes, fsyncs, reads back and removes a small file in the
// data folder: a mount that went away or turned read-only fails here.
func probeStorage(dir string) error {
	want := make([]byte, 32)
	_, _ = rand.Read(want)
	f, err := os.CreateTemp(dir, ".readyz-*")
	if err != nil {
		return err
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := f.Write(want); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Clean(name))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("storage probe read back different bytes")
	}
	return nil
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apierror.New(apierror.NotFound, "There is no API route %s %s.", r.Method, r.URL.Path))
}
