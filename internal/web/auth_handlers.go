package web

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
)

type userView struct {
	Username string     `json:"username"`
	Role     store.Role `json:"role"`
	FullName string     `json:"full_name"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "Type your username and your password."))
		return
	}
	token, p, err := s.auth.Login(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.overTLS(r),
		// No Max-Age: the server ends the session; the cookie lives while the browser does.
	})
	s.log.Info("login", "user", p.Username, "addr", s.clientAddr(r))
	s.examLogin(r, p, s.clientAddr(r))
	writeJSON(w, http.StatusOK, userView{p.Username, p.Role, p.FullName})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := s.auth.Logout(r.Context(), p.TokenHash); err != nil {
		s.log.Warn("logout: session not removed from the database", "user", p.Username, "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(r)})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	writeJSON(w, http.StatusOK, struct {
		userView
		Home string `json:"home"`
	}{userView{p.Username, p.Role, p.FullName}, "Local/" + p.Username})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.auth.ChangePassword(r.Context(), p, req.Old, req.New); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxUIState bounds what the IDE keeps of a user's workspace state.
const maxUIState = 64 << 10

// uiState answers the user's saved IDE state ({} when none).
func (s *Server) uiState(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	state, err := s.store.UIState(r.Context(), p.Username)
	if err != nil {
		s.writeError(w, r, apierror.Wrap(err, apierror.Unavailable, "Your open files cannot be read right now."))
		return
	}
	if state == nil {
		state = json.RawMessage(`{}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(state)
}

// setUIState keeps the user's IDE state: any JSON object up to 64 KiB.
func (s *Server) setUIState(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUIState))
	if err != nil {
		s.writeError(w, r, apierror.New(apierror.TooLarge, "The workspace state is larger than 64 KiB."))
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "The workspace state must be a JSON object."))
		return
	}
	if err := s.store.SetUIState(r.Context(), p.Username, body, time.Now()); err != nil {
		s.writeError(w, r, apierror.Wrap(err, apierror.Unavailable, "Your open files cannot be remembered right now."))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setup tells the login page whether this is a new server: no professor
// has ever logged in. Once one has, that stays so (cached).
func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	first := false
	if !s.setUpDone.Load() {
		done, err := s.store.ProfessorHasLoggedIn(r.Context())
		if err != nil {
			s.writeError(w, r, apierror.Wrap(err, apierror.Unavailable, "The server cannot answer right now."))
			return
		}
		first = !done
		s.setUpDone.Store(done)
	}
	v := map[string]any{"first_run": first}
	if first {
		v["username"] = roster.FirstProfessorName
	}
	writeJSON(w, http.StatusOK, v)
}
