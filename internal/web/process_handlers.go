package web

import (
	"cmp"
	"net/http"
	"slices"
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
	Instance     string    `json:"instance,omitempty"` // the server that runs it, when several serve the class
}

// listProcesses is the teacher's live table: this instance's processes,
// and with several instances every other instance's too (asked for their
// own, in parallel), each row naming its instance. An instance that does
// not answer is left out and named in "unreachable".
func (s *Server) listProcesses(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	out := s.localProcesses()
	body := map[string]any{"processes": out}
	if s.cluster != nil && !(s.peer(r) && r.URL.Query().Get("local") == "1") {
		peers, err := s.cluster.Peers(r.Context())
		if err != nil {
			s.log.Warn("listing the other instances failed", "err", err)
		}
		type answer struct {
			id   string
			rows []processView
			err  error
		}
		answers := make(chan answer, len(peers))
		for _, peer := range peers {
			go func() {
				var got struct{ Processes []processView }
				err := s.cluster.Ask(r.Context(), r, peer.Address, "/api/admin/processes?local=1", &got)
				answers <- answer{peer.ID, got.Processes, err}
			}()
		}
		var unreachable []string
		for range peers {
			a := <-answers
			if a.err != nil {
				s.log.Warn("an instance did not give its processes", "instance", a.id, "err", a.err)
				unreachable = append(unreachable, a.id)
				continue
			}
			out = append(out, a.rows...)
		}
		slices.SortFunc(out, func(a, b processView) int {
			return cmp.Or(cmp.Compare(a.User, b.User), a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
		})
		body["processes"] = out
		if len(unreachable) > 0 {
			body["unreachable"] = unreachable
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// localProcesses are this instance's rows of the table.
func (s *Server) localProcesses() []processView {
	out := []processView{}
	instance := ""
	if s.cluster != nil {
		instance = s.cluster.ID()
	}
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
				Instance: instance,
			})
		}
	}
	return out
}

func (s *Server) stopProcess(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.cluster != nil && !s.peer(r) && (s.runner == nil || !s.runner.Has(r.PathValue("id"))) {
		// Another instance runs it: the Stop goes there.
		if addr, ok := s.cluster.Where(r.Context(), r.PathValue("id")); ok {
			s.cluster.Forward(w, r, addr, s.clientAddr(r), s.viaTLS(r))
			return
		}
	}
	if s.runner == nil || !s.runner.StopID(r.PathValue("id"), registry.ReasonAdmin, "", "") {
		s.writeError(w, r, apierror.New(apierror.NotFound, "That program is not running any more."))
		return
	}
	s.log.Info("teacher stopped a program", "teacher", p.Username, "id", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// drainInstance begins this instance's drain (as SIGTERM does): /readyz
// turns unready at once, new students are sent to the other instances, new
// runs here are refused, and running programs get up to --drain-timeout to
// end before they are stopped, told why.
//
// With several instances, ?instance=ID names the one to drain (the balancer
// picks any): the request goes to it.
func (s *Server) drainInstance(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if id := r.URL.Query().Get("instance"); id != "" && (s.cluster == nil || id != s.cluster.ID()) {
		if s.cluster != nil && !s.peer(r) {
			peers, err := s.cluster.Peers(r.Context())
			if err != nil {
				s.writeError(w, r, apierror.New(apierror.Unavailable, "The other instances cannot be listed right now; try again in a moment."))
				return
			}
			for _, peer := range peers {
				if peer.ID == id {
					s.cluster.Forward(w, r, peer.Address, s.clientAddr(r), s.viaTLS(r))
					return
				}
			}
		}
		s.writeError(w, r, apierror.New(apierror.NotFound, "No live instance is named %q.", id))
		return
	}
	if s.drain == nil {
		s.writeError(w, r, apierror.New(apierror.NotFound, "Draining is not available on this server."))
		return
	}
	s.log.Info("a teacher asked this instance to drain", "teacher", p.Username)
	s.drain()
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "draining", "timeout_seconds": int(s.cfg.DrainTimeout.Seconds())})
}
