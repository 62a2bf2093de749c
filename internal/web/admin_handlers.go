package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
)

type adminUserView struct {
	Username    string     `json:"username"`
	Role        store.Role `json:"role"`
	FullName    string     `json:"full_name"`
	Active      bool       `json:"active"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

func adminUser(u store.User) adminUserView {
	v := adminUserView{Username: u.Username, Role: u.Role, FullName: u.FullName, Active: u.Active, CreatedAt: u.CreatedAt}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt
		v.LastLoginAt = &t
	}
	return v
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, apierror.Wrap(err, apierror.Unavailable, "The list of users cannot be read right now."))
		return
	}
	out := make([]adminUserView, 0, len(users))
	for _, u := range users {
		out = append(out, adminUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Role     string `json:"role"`
		FullName string `json:"full_name"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	role, err := roster.ParseRole(req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.roster.Create(r.Context(), roster.NewUser{Username: req.Username, Password: req.Password, Role: role, FullName: req.FullName})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		roster.Created
		FullName string `json:"full_name"`
	}{created, req.FullName})
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req struct {
		FullName *string     `json:"full_name"`
		Role     *store.Role `json:"role"`
		Active   *bool       `json:"active"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := r.PathValue("username")
	if name == p.Username && ((req.Active != nil && !*req.Active) || (req.Role != nil && *req.Role != store.RoleProfessor)) {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "You cannot deactivate yourself or take away your own teacher role."))
		return
	}
	u, err := s.roster.Update(r.Context(), name, req.FullName, req.Role, req.Active)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminUser(u))
}

func (s *Server) importUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	body := http.MaxBytesReader(w, r.Body, 5<<20)
	res, err := s.roster.Import(r.Context(), body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = apierror.New(apierror.TooLarge, "The roster file is too large (5 MB at most).")
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	var req struct {
		Password string `json:"password"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.roster.SetPassword(r.Context(), r.PathValue("username"), req.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type sessionView struct {
	Username        string          `json:"username"`
	ClientAddr      string          `json:"client_addr"`
	LoginTime       time.Time       `json:"login_time"`
	LastActivity    time.Time       `json:"last_activity"`
	ExpiresAt       time.Time       `json:"expires_at"`
	ActiveProcesses json.RawMessage `json:"active_processes"`
	ResourceUsage   json.RawMessage `json:"resource_usage"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	// Write pending activity first so the table is current.
	if err := s.auth.Flush(r.Context()); err != nil {
		s.log.Warn("session flush before listing failed", "err", err)
	}
	rows, err := s.store.ListSessions(r.Context())
	if err != nil {
		s.writeError(w, r, apierror.Wrap(err, apierror.Unavailable, "The sessions cannot be read right now."))
		return
	}
	out := make([]sessionView, 0, len(rows))
	for _, x := range rows {
		out = append(out, sessionView{x.Username, x.ClientAddr, x.LoginAt, x.LastActivity, x.ExpiresAt, x.ActiveProcesses, x.ResourceUsage})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) distribute(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req struct {
		Source string          `json:"source"`
		Target string          `json:"target"`
		Users  json.RawMessage `json:"users"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.students(r, req.Users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.ws.Distribute(actor(p), req.Source, req.Target, users)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// students reads a request's "users": "all" (or nothing) for every active
// student, or a list of usernames.
func (s *Server) students(r *http.Request, raw json.RawMessage) ([]string, error) {
	var users []string
	var all string
	if len(raw) != 0 && json.Unmarshal(raw, &all) != nil {
		if err := json.Unmarshal(raw, &users); err != nil {
			return nil, apierror.New(apierror.BadRequest, `"users" must be "all" or a list of usernames.`)
		}
		return users, nil
	}
	if len(raw) != 0 && all != "all" {
		return nil, apierror.New(apierror.BadRequest, `"users" must be "all" or a list of usernames.`)
	}
	users, err := s.roster.Students(r.Context())
	if err != nil {
		return nil, apierror.Wrap(err, apierror.Unavailable, "The list of students cannot be read right now.")
	}
	return users, nil
}
