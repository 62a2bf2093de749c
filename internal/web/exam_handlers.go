package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Exam mode (internal/exam, docs/exams.md). Confinement is two checks, both
// made for every request of a student who sits an exam now:
//   - the workspace applies the student's Limits (set on the principal by
//     authed, so every actor(p) carries them) to every path of every file
//     operation: outside the exam folder is refused (workspace.ErrFenced);
//   - authed lets such a student reach only the routes below, so a route
//     added later is closed to them until it is listed here (history and the
//     trash are not: they would bring back files from before the exam).
//
// Runs see the same Limits (wsConn.user): the exam folder is the program's
// home.

// openDuringExam are the routes a student who sits an exam may use.
var openDuringExam = map[string]bool{
	"POST /api/logout": true, "GET /api/me": true, "POST /api/password": true,
	"GET /api/me/state": true, "PUT /api/me/state": true,
	"GET /api/files": true, "DELETE /api/files": true, "GET /api/files/content": true, "PUT /api/files/content": true,
	"POST /api/files/mkdir": true, "POST /api/files/move": true, "POST /api/files/copy": true,
	"POST /api/files/upload": true, "GET /api/files/download": true, "GET /api/files/search": true,
	"GET /ws":              true,
	"GET /api/exam":        true,
	"GET /api/assignments": true, "GET /api/assignments/{id}": true, "POST /api/assignments/{id}/submit": true,
}

// examLimits sets p's limits for this request: a student's fence while
// they sit an exam, the read-only folders of exams they sat. During an
// exam, a route not open to them is refused.
func (s *Server) examLimits(r *http.Request, p *auth.Principal) error {
	if s.exams == nil || p.Professor() {
		return nil
	}
	lim, err := s.exams.Limits(r.Context(), p.Username)
	if err != nil {
		return err
	}
	p.Limits = lim
	if lim != nil && lim.Fence != "" && !openDuringExam[r.Pattern] {
		return fault.New(workspace.ErrFenced, "%s", lim.Refusal)
	}
	return nil
}

// note logs an event of p's in the exam they sit, if any.
func (s *Server) note(ctx context.Context, user, kind, detail string) {
	if s.exams != nil {
		s.exams.Note(ctx, user, kind, detail)
	}
}

// noteDenied logs a refusal of the fence.
func (s *Server) noteDenied(r *http.Request, why string) {
	p, ok := r.Context().Value(principalKey).(auth.Principal)
	if !ok {
		return
	}
	what := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		what += "?" + r.URL.RawQuery
	}
	s.note(r.Context(), p.Username, "denied", what)
}

// examLogin logs a login of an exam's student and keeps them to one
// session whatever --single-session says.
func (s *Server) examLogin(r *http.Request, p auth.Principal, addr string) {
	if s.exams == nil || p.Professor() {
		return
	}
	if _, sits, err := s.exams.Current(r.Context(), p.Username); err != nil || !sits {
		return
	}
	s.note(r.Context(), p.Username, "login", addr)
	if !s.cfg.SingleSession {
		if err := s.auth.EndUserSessions(r.Context(), p.Username, p.TokenHash); err != nil {
			s.log.Warn("exam: a student's older sessions could not be ended", "user", p.Username, "err", err)
		}
	}
}

// routeExams adds exam mode's routes (docs/api.md, "Exams").
func (s *Server) routeExams(mux *http.ServeMux) {
	mux.Handle("GET /api/exam", s.authed(s.myExam))
	mux.Handle("GET /api/admin/exams", s.professor(s.listExams))
	mux.Handle("POST /api/admin/exams", s.professor(s.startExam))
	mux.Handle("GET /api/admin/exams/{id}", s.professor(s.getExam))
	mux.Handle("GET /api/admin/exams/{id}/events", s.professor(s.examEvents))
	mux.Handle("POST /api/admin/exams/{id}/end", s.professor(s.endExam))
}

func (s *Server) myExam(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	m, err := s.exams.MineNow(r.Context(), p.Username)
	s.answer(w, r, http.StatusOK, map[string]any{"exam": m}, err)
}

func (s *Server) listExams(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	list, err := s.exams.List(r.Context())
	s.answer(w, r, http.StatusOK, map[string]any{"exams": list}, err)
}

func (s *Server) startExam(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in struct {
		exam.Input
		Users json.RawMessage `json:"users"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.students(r, in.Users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in.Input.Users = users
	e, report, err := s.exams.Start(r.Context(), actor(p), in.Input)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.exams.Get(r.Context(), e.Assignment)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.assignments.Get(r.Context(), e.Assignment)
	tests, _ := s.assignments.Tests(r.Context(), e.Assignment)
	s.answer(w, r, http.StatusCreated, map[string]any{"exam": v, "assignment": assignment.TeacherView(a, tests), "distribute": report}, err)
}

func (s *Server) getExam(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	v, err := s.exams.Get(r.Context(), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, v, err)
}

// examEvents is the log, oldest first, a page at a time: after the event
// numbered ?after= (0), at most ?limit= (1000, up to 5000), ?user= one
// student's.
func (s *Server) examEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 5000)
	evs, err := s.exams.Events(r.Context(), r.PathValue("id"), q.Get("user"), max(after, 0), limit)
	next := after
	if len(evs) > 0 {
		next = evs[len(evs)-1].ID
	}
	s.answer(w, r, http.StatusOK, map[string]any{"events": evs, "next": next, "more": len(evs) == limit}, err)
}

func (s *Server) endExam(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if _, err := s.exams.End(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("teacher ended an exam", "teacher", p.Username, "exam", r.PathValue("id"))
	v, err := s.exams.Get(r.Context(), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, v, err)
}
