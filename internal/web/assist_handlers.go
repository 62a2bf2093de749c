package web

import (
	"errors"
	"net/http"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/assist"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/fault"
)

// Editor assistance (docs/api.md, "Editor assistance"): POSTs that change
// nothing, answered by the confined workers of internal/assist. Without
// the service (a server that runs no programs) checks are skipped and
// completions not available, so the editor works on without them.

type assistCheckRequest struct {
	Path   string `json:"path"`
	Source string `json:"source"`
}

type assistCompleteRequest struct {
	Path   string `json:"path"`
	Source string `json:"source"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// routeAssist adds the editor assistance routes.
func (s *Server) routeAssist(mux *http.ServeMux) {
	mux.Handle("POST /api/assist/check", s.authed(s.assistCheck))
	mux.Handle("POST /api/assist/complete", s.authed(s.assistComplete))
}

func (s *Server) assistCheck(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req assistCheckRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.assist == nil {
		writeJSON(w, http.StatusOK, assist.CheckResult{Skipped: true, Message: "Syntax checking is not available on this server."})
		return
	}
	res, err := s.assist.Check(r.Context(), actor(p), req.Path, req.Source)
	if err != nil {
		s.writeError(w, r, assistError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) assistComplete(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req assistCompleteRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.assist == nil {
		writeJSON(w, http.StatusOK, assist.CompleteResult{Completions: []assist.Completion{}, Signatures: []assist.Signature{}})
		return
	}
	if req.Line < 1 || req.Column < 1 {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "Give the cursor's line and column, both counted from 1."))
		return
	}
	res, err := s.assist.Complete(r.Context(), actor(p), req.Path, req.Source, req.Line, req.Column)
	if err != nil {
		s.writeError(w, r, assistError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// assistError maps the service's own refusals; the workspace's pass on to
// the edge's mapping (a file of another student is not found).
func assistError(err error) error {
	msg, _ := fault.Message(err)
	switch {
	case errors.Is(err, assist.ErrTooLarge):
		return apierror.Wrap(err, apierror.TooLarge, "%s", msg)
	case errors.Is(err, assist.ErrInvalid):
		return apierror.Wrap(err, apierror.BadRequest, "%s", msg)
	}
	return err
}
