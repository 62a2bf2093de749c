package web

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/health"
)

// OpenWebSockets is the number of WebSocket connections open now.
func (s *Server) OpenWebSockets() int { return int(s.wsOpen.Load()) }

// health answers GET /health: 200 for ok or degraded (the class goes on), 503
// for unhealthy. It probes the database and the storage on every call. The
// detail that names students or shows internal errors goes only to an
// operator (an allowed address or the metrics token) or a logged-in teacher;
// a load balancer or anyone else gets the same status with figures only.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.mon == nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": health.StatusOK, "reasons": []any{}, "uptime_seconds": int(time.Since(s.started).Seconds())})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rep := health.Of(ctx, s.mon)
	if s.cluster != nil {
		rep.Instance = s.cluster.ID()
		t, err := s.cluster.Totals(ctx)
		rep.Cluster = &health.ClusterReport{Instances: t.Instances, Draining: t.Draining, Processes: t.Processes, UsersWithPrograms: t.Users}
		if err != nil {
			rep.Cluster.Error = "the shared database does not answer"
		}
	}
	if !s.operator(r) && !s.teacher(r) {
		rep = rep.Public()
	}
	code := http.StatusOK
	if rep.Status == health.StatusUnhealthy {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

// metrics answers GET /metrics in the Prometheus text format, to operators only.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.metricsHandler == nil {
		s.writeError(w, r, apierror.New(apierror.NotFound, "Metrics are not enabled on this server."))
		return
	}
	if !s.operator(r) {
		if s.cfg.MetricsToken != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pythonide metrics"`)
		}
		s.writeError(w, r, apierror.New(apierror.Forbidden, "Metrics are only available to the monitoring system."))
		return
	}
	s.metricsHandler.ServeHTTP(w, r)
}

// operator reports whether r comes from an address in --metrics-allow (the
// client's address, which X-Forwarded-For gives only through a trusted
// proxy, so the proxy itself does not open the door to everyone behind it)
// or carries the --metrics-token as a bearer token.
func (s *Server) operator(r *http.Request) bool {
	if tok := s.cfg.MetricsToken; tok != "" {
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h)), []byte(tok)) == 1 {
			return true
		}
	}
	ip := net.ParseIP(s.clientAddr(r))
	if ip == nil {
		return false
	}
	for _, a := range s.cfg.MetricsAllow {
		if _, n, err := net.ParseCIDR(a); err == nil {
			if n.Contains(ip) {
				return true
			}
		} else if allowed := net.ParseIP(a); allowed != nil && allowed.Equal(ip) {
			return true
		}
	}
	return false
}

// teacher reports whether r carries a professor's session (the health panel).
func (s *Server) teacher(r *http.Request) bool {
	if _, err := r.Cookie(CookieName); err != nil {
		return false
	}
	p, err := s.principal(r)
	return err == nil && p.Professor()
}
