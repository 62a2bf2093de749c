package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/store"
)

// routeAssignments adds homework's routes (docs/api.md, "Assignments").
func (s *Server) routeAssignments(mux *http.ServeMux) {
	mux.Handle("GET /api/assignments", s.authed(s.myAssignments))
	mux.Handle("GET /api/assignments/{id}", s.authed(s.myAssignment))
	mux.Handle("POST /api/assignments/{id}/submit", s.authed(s.submit))

	mux.Handle("GET /api/admin/assignments", s.professor(s.listAssignments))
	mux.Handle("POST /api/admin/assignments", s.professor(s.createAssignment))
	mux.Handle("GET /api/admin/assignments/{id}", s.professor(s.getAssignment))
	mux.Handle("PATCH /api/admin/assignments/{id}", s.professor(s.updateAssignment))
	mux.Handle("DELETE /api/admin/assignments/{id}", s.professor(s.deleteAssignment))
	mux.Handle("PUT /api/admin/assignments/{id}/tests/{name}", s.professor(s.putTest))
	mux.Handle("GET /api/admin/assignments/{id}/tests/{name}", s.professor(s.getTest))
	mux.Handle("DELETE /api/admin/assignments/{id}/tests/{name}", s.professor(s.deleteTest))
	mux.Handle("POST /api/admin/assignments/{id}/publish", s.professor(s.publishAssignment))
	mux.Handle("POST /api/admin/assignments/{id}/regrade", s.professor(s.regrade))
	mux.Handle("GET /api/admin/assignments/{id}/submissions", s.professor(s.assignmentSubmissions))
	mux.Handle("GET /api/admin/submissions/{sid}", s.professor(s.getSubmission))
	mux.Handle("GET /api/admin/submissions/{sid}/file", s.professor(s.submissionFile))
	mux.Handle("POST /api/admin/submissions/{sid}/comment", s.professor(s.commentSubmission))
	mux.Handle("POST /api/admin/submissions/{sid}/choose", s.professor(s.chooseSubmission))
	mux.Handle("GET /api/admin/gradebook", s.professor(s.gradebook))
	mux.Handle("GET /api/admin/gradebook.csv", s.professor(s.gradebookCSV))
}

// answer writes v, or err as the API says it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) myAssignments(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	as, err := s.assignments.List(r.Context(), true)
	var mine []store.Submission
	if err == nil {
		mine, err = s.assignments.Submissions(r.Context(), "", p.Username)
	}
	now := time.Now()
	out := make([]assignment.View, 0, len(as))
	for _, a := range as {
		out = append(out, assignment.StudentView(a, p.Username, now, of(mine, a.ID), false))
	}
	s.answer(w, r, http.StatusOK, map[string]any{"assignments": out}, err)
}

// of is the submissions of one assignment.
func of(xs []store.Submission, id string) []store.Submission {
	var out []store.Submission
	for _, x := range xs {
		if x.Assignment == id {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) myAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, err := s.assignments.Published(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mine, err := s.assignments.Submissions(r.Context(), a.ID, p.Username)
	s.answer(w, r, http.StatusOK, assignment.StudentView(a, p.Username, time.Now(), mine, true), err)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	x, err := s.assignments.Submit(r.Context(), actor(p), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, _ := s.assignments.Get(r.Context(), x.Assignment)
	s.note(r.Context(), p.Username, "submit", fmt.Sprintf("submission %d of %s (%d files)", x.Seq, x.Assignment, x.Files))
	writeJSON(w, http.StatusCreated, assignment.SubmissionOf(x, true, a.Feedback == "all", false))
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	as, err := s.assignments.List(r.Context(), false)
	var subs []store.Submission
	if err == nil {
		subs, err = s.assignments.Submissions(r.Context(), "", "")
	}
	out := make([]assignment.View, 0, len(as))
	for _, a := range as {
		v := assignment.TeacherView(a, nil)
		students := map[string]bool{}
		for _, x := range of(subs, a.ID) {
			students[x.Username] = true
		}
		n := len(students)
		v.Submitted = &n
		out = append(out, v)
	}
	s.answer(w, r, http.StatusOK, map[string]any{"assignments": out}, err)
}

// teacherView answers with the assignment id and its tests.
func (s *Server) teacherView(w http.ResponseWriter, r *http.Request, status int, id string) {
	a, err := s.assignments.Get(r.Context(), id)
	var tests []store.TestFile
	if err == nil {
		tests, err = s.assignments.Tests(r.Context(), id)
	}
	s.answer(w, r, status, assignment.TeacherView(a, tests), err)
}

func (s *Server) createAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in assignment.Input
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.assignments.Create(r.Context(), actor(p), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.teacherView(w, r, http.StatusCreated, a.ID)
}

func (s *Server) getAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.teacherView(w, r, http.StatusOK, r.PathValue("id"))
}

func (s *Server) updateAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in assignment.Input
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.assignments.Update(r.Context(), actor(p), r.PathValue("id"), in); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.teacherView(w, r, http.StatusOK, r.PathValue("id"))
}

func (s *Server) deleteAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := s.assignments.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putTest(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in struct {
		Content *string `json:"content"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Content == nil {
		s.writeError(w, r, apierror.New(apierror.BadRequest, `Send the test file as {"content": "…"}.`))
		return
	}
	err := s.assignments.PutTest(r.Context(), r.PathValue("id"), r.PathValue("name"), *in.Content)
	s.answer(w, r, http.StatusOK, assignment.TestInfo{Name: r.PathValue("name"), Bytes: len(*in.Content)}, err)
}

func (s *Server) getTest(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	tests, err := s.assignments.Tests(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, t := range tests {
		if t.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, map[string]string{"name": t.Name, "content": t.Content})
			return
		}
	}
	s.writeError(w, r, apierror.New(apierror.NotFound, "This assignment has no such test file."))
}

func (s *Server) deleteTest(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := s.assignments.DeleteTest(r.Context(), r.PathValue("id"), r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) publishAssignment(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in struct {
		Users json.RawMessage `json:"users"`
	}
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	users, err := s.students(r, in.Users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, res, err := s.assignments.Publish(r.Context(), actor(p), r.PathValue("id"), users)
	s.answer(w, r, http.StatusOK, map[string]any{"assignment": assignment.TeacherView(a, nil), "distribute": res}, err)
}

func (s *Server) regrade(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	n, err := s.assignments.Regrade(r.Context(), r.PathValue("id"))
	s.answer(w, r, http.StatusAccepted, map[string]int{"queued": n}, err)
}

func (s *Server) assignmentSubmissions(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if _, err := s.assignments.Get(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	subs, err := s.assignments.Submissions(r.Context(), r.PathValue("id"), "")
	byUser := map[string][]store.Submission{}
	for _, x := range subs {
		byUser[x.Username] = append(byUser[x.Username], x)
	}
	out := make([]assignment.SubmissionView, 0, len(subs))
	for _, x := range subs {
		c := assignment.Counting(byUser[x.Username])
		out = append(out, assignment.SubmissionOf(x, c != nil && c.ID == x.ID, true, true))
	}
	s.answer(w, r, http.StatusOK, map[string]any{"submissions": out}, err)
}

// submission answers with one submission as its teacher sees it.
func (s *Server) submission(w http.ResponseWriter, r *http.Request, x store.Submission) {
	mine, err := s.assignments.Submissions(r.Context(), x.Assignment, x.Username)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := assignment.Counting(mine)
	v := assignment.SubmissionOf(x, c != nil && c.ID == x.ID, true, true)
	v.Paths, err = s.assignments.Paths(x)
	s.answer(w, r, http.StatusOK, v, err)
}

func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	x, err := s.assignments.Submission(r.Context(), r.PathValue("sid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.submission(w, r, x)
}

func (s *Server) submissionFile(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	x, err := s.assignments.Submission(r.Context(), r.PathValue("sid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	path := r.URL.Query().Get("path")
	b, err := s.assignments.File(x, path, s.cfg.MaxFileBytes)
	s.answer(w, r, http.StatusOK, map[string]string{"path": path, "content": string(b)}, err)
}

func (s *Server) commentSubmission(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var in struct {
		Comment string `json:"comment"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	x, err := s.assignments.Comment(r.Context(), r.PathValue("sid"), in.Comment)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.submission(w, r, x)
}

func (s *Server) chooseSubmission(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	x, err := s.assignments.Choose(r.Context(), r.PathValue("sid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.submission(w, r, x)
}

func (s *Server) gradebook(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	b, err := s.assignments.Gradebook(r.Context())
	s.answer(w, r, http.StatusOK, b, err)
}

func (s *Server) gradebookCSV(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	b, err := s.assignments.Gradebook(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gradebook.csv"`)
	b.CSV(w)
}
