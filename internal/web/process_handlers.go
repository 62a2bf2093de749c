package web

import (
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/registry"
)

type processView struct {
	ID           string    `json:"id"`
	User         string    `json:"user"`
	Path         string    `json:"path"`
	Kind         string    `json:"kind"`
	State        string    `json:"state"`
	PID          int       `json:"pid"`
	StartedAt    time.Time `json:"started_at"`
	LastActivity time.Time `json:"last_activity"`
	MemoryBytes  int64     `json:"memory_bytes"`
	CPUSeconds   float64   `json:"cpu_seconds"`
	AgeSeconds   float64   `json:"age_seconds"`
	IdleSeconds  float64   `json:"idle_seconds"`
	Connected    bool      `json:"owner_connected"`
}

func (s *Server) listProcesses(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	out := []processView{}
	if s.runner != nil {
		now := time.Now()
		for _, p := range s.runner.Registry().Snapshot() {
			started := p.StartedAt
			if started.IsZero() {
				started = p.AdmittedAt
			}
			out = append(out, processView{
				ID: p.ID, User: p.Owner, Path: p.Path, Kind: string(p.Kind), State: string(p.State), PID: p.PID,
				StartedAt: started.UTC(), LastActivity: p.LastActivity.UTC(), MemoryBytes: p.MemoryBytes, CPUSeconds: p.CPUSeconds,
				AgeSeconds: now.Sub(started).Seconds(), IdleSeconds: now.Sub(p.LastActivity).Seconds(), Connected: p.OwnerConnected,
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"processes": out})
}

func (s *Server) stopProcess(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.runner == nil || !s.runner.StopID(r.PathValue("id"), registry.ReasonAdmin, "") {
		s.writeError(w, r, apierror.New(apierror.NotFound, "That program is not running any more."))
		return
	}
	s.log.Info("teacher stopped a program", "teacher", p.Username, "id", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}
