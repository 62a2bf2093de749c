package web

import (
	"net/http"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
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
