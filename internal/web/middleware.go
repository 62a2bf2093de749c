package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
)

// CookieName holds the session token.
const CookieName = "pythonide_session"

type ctxKey int

const principalKey ctxKey = 0

// recorder remembers the status and size for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Hijack lets the WebSocket upgrade through the recorder.
func (rw *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := rw.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijacking not supported")
	}
	rw.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (rw *recorder) Flush() {
	if f, ok := rw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logAndRecover logs every request and turns a panic into a 500 that leaves
// the server running.
func (s *Server) logAndRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, apierror.New(apierror.Internal, "Something went wrong on the server. Please try again."))
				}
			}
			attrs := logAttrs(r, rec.status, rec.bytes)
			attrs = append(attrs, slog.Duration("took", time.Since(start)))
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "http", attrs...)
			if s.observe != nil {
				s.observe(r, rec.status, time.Since(start))
			}
		}()
		// A client that stops reading must not hold a handler forever. The
		// server has no global WriteTimeout (it would cut WebSockets, which
		// keep their own deadlines), so each request gets one here.
		if r.URL.Path != "/ws" {
			d := time.Minute
			if r.Method == http.MethodGet && (r.URL.Path == "/api/files/download" || r.URL.Path == "/api/files/content") {
				d = 10 * time.Minute // a folder as zip over a slow school network
			}
			_ = http.NewResponseController(rec).SetWriteDeadline(time.Now().Add(d))
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(rec, r)
	})
}

// crossOrigin refuses state-changing requests from other origins (403 with
// the API's error body). Safe methods pass; the WebSocket upgrade checks its
// Origin itself.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.cfg.PublicOrigins {
		if err := cop.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
			s.log.Warn("ignoring public origin", "origin", o, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apierror.New(apierror.Forbidden, "This request came from another website and was refused."))
	}))
	return cop.Handler(next)
}

// authed wraps a handler that needs a logged-in user.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, auth.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
			err = s.examLimits(r, &p) // an exam's student: its fence (exam_handlers.go)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)), p)
	})
}

// professor wraps a handler only a professor may use.
func (s *Server) professor(h func(http.ResponseWriter, *http.Request, auth.Principal)) http.Handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		if !p.Professor() {
			s.writeError(w, r, apierror.New(apierror.Forbidden, "Only a teacher can do this."))
			return
		}
		h(w, r, p)
	})
}

func (s *Server) principal(r *http.Request) (auth.Principal, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return auth.Principal{}, apierror.New(apierror.Unauthorized, "Please log in.")
	}
	return s.auth.Authenticate(r.Context(), c.Value)
}

// clientAddr is the address a request came from; X-Forwarded-For is
// believed only from a trusted proxy, and then its rightmost untrusted entry.
func (s *Server) clientAddr(r *http.Request) string {
	if s.peer(r) { // the instance that forwarded r says who the client is
		if f := strings.TrimSpace(r.Header.Get("X-Forwarded-For")); f != "" {
			return f
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(host) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		if !s.trusted(h) {
			return h
		}
		host = h
	}
	return host
}

func (s *Server) trusted(host string) bool {
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range s.proxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// overTLS reports whether the browser reached us over TLS (directly or
// through a trusted proxy), which decides the cookie's Secure flag in auto mode.
func (s *Server) overTLS(r *http.Request) bool {
	switch s.cfg.CookieSecure {
	case "always":
		return true
	case "never":
		return false
	}
	return s.viaTLS(r)
}

// viaTLS reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so.
func (s *Server) viaTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if s.peer(r) {
		return strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return s.trusted(host) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
