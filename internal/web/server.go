// Package web is the HTTP face of pythonide: the JSON API of shared/API.md,
// the WebSocket and the browser UI. Handlers are thin: they parse, call the
// package that owns the rule, and map its error.
package web

import (
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/assist"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/cluster"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Deps are what the web layer is built from.
type Deps struct {
	Config    *config.Config
	Store     *store.Store
	Workspace *workspace.Workspace
	Auth      *auth.Manager
	Roster    *roster.Roster
	Runner    *runner.Runner // nil: running programs is not offered
	Log       *slog.Logger
	// Observe, when set, is told of every finished request (metrics).
	Observe func(r *http.Request, status int, took time.Duration)
	// Monitor answers GET /health; nil gives a bare "ok".
	Monitor *monitor.Monitor
	// Metrics serves GET /metrics (promhttp on the server's registry); nil: 404.
	Metrics http.Handler
	// Cluster, when set, is this instance's membership of a class served by
	// several (internal/cluster): WebSockets go to the student's home
	// instance, the teacher's table and Stop reach every instance.
	Cluster *cluster.Cluster
	// Drain, when set, drains this instance (POST /api/admin/drain): it
	// returns at once and drains in the background.
	Drain func()
	// Assignments is homework (internal/assignment); nil: not offered.
	Assignments *assignment.Service
	// Exams is exam mode (internal/exam, over Assignments); nil: not offered.
	Exams *exam.Service
	// Assist is the editor's assistance (internal/assist); nil: checks are
	// skipped and completions not available.
	Assist *assist.Service
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg    *config.Config
	store  *store.Store
	ws     *workspace.Workspace
	auth   *auth.Manager
	roster *roster.Roster
	runner *runner.Runner
	wsRate *auth.Throttle
	wsOpen atomic.Int64
	// startsQueued counts the run and repl requests of every browser that
	// are queued or being started (wsConn.queueStart, startLoop).
	startsQueued atomic.Int64
	log          *slog.Logger
	proxies      []*net.IPNet
	observe      func(r *http.Request, status int, took time.Duration)
	started      time.Time

	mon            *monitor.Monitor
	metricsHandler http.Handler
	cluster        *cluster.Cluster
	drain          func()
	assignments    *assignment.Service
	exams          *exam.Service
	assist         *assist.Service
	draining       atomic.Bool
	setUpDone      atomic.Bool // a professor has logged in (GET /api/setup)

	// wsPing and wsRecheck are wsPingEvery and wsRecheckEvery (shorter in tests).
	wsPing, wsRecheck time.Duration
}

// New builds the server and its routes.
func New(d Deps) *Server {
	s := &Server{cfg: d.Config, store: d.Store, ws: d.Workspace, auth: d.Auth, roster: d.Roster, runner: d.Runner, log: d.Log, observe: d.Observe, started: time.Now(),
		mon: d.Monitor, metricsHandler: d.Metrics, cluster: d.Cluster, drain: d.Drain, assignments: d.Assignments, exams: d.Exams, assist: d.Assist}
	s.wsPing, s.wsRecheck = wsPingEvery, wsRecheckEvery
	s.wsRate = auth.NewThrottle(d.Config.WSMessagesPerMin, time.Minute, time.Now)
	for _, c := range d.Config.TrustedProxies {
		if _, n, err := net.ParseCIDR(c); err == nil {
			s.proxies = append(s.proxies, n)
		}
	}
	return s
}

// SetDraining makes /readyz answer "not ready" from now on, so the load
// balancer stops sending new connections (the drain has begun).
func (s *Server) SetDraining() { s.draining.Store(true) }

// peer reports whether r was made or forwarded by another instance of the
// class (it carries their shared secret).
func (s *Server) peer(r *http.Request) bool { return s.cluster != nil && s.cluster.Vouched(r) }

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /metrics", s.metrics)

	mux.HandleFunc("POST /api/login", s.login)
	mux.Handle("POST /api/logout", s.authed(s.logout))
	mux.Handle("GET /api/me", s.authed(s.me))
	mux.Handle("POST /api/password", s.authed(s.changePassword))
	mux.HandleFunc("GET /api/setup", s.setup)
	mux.Handle("GET /api/me/state", s.authed(s.uiState))
	mux.Handle("PUT /api/me/state", s.authed(s.setUIState))

	mux.Handle("GET /api/files", s.authed(s.listFiles))
	mux.Handle("DELETE /api/files", s.authed(s.deleteFile))
	mux.Handle("GET /api/files/content", s.authed(s.readFile))
	mux.Handle("PUT /api/files/content", s.authed(s.writeFile))
	mux.Handle("POST /api/files/mkdir", s.authed(s.mkdir))
	mux.Handle("POST /api/files/move", s.authed(s.move))
	mux.Handle("POST /api/files/copy", s.authed(s.copy))
	mux.Handle("POST /api/files/upload", s.authed(s.upload))
	mux.Handle("GET /api/files/download", s.authed(s.download))
	mux.Handle("GET /api/files/search", s.authed(s.searchFiles))
	mux.Handle("GET /api/files/history", s.authed(s.fileHistory))
	mux.Handle("GET /api/files/history/content", s.authed(s.versionContent))
	mux.Handle("POST /api/files/history/restore", s.authed(s.restoreVersion))
	mux.Handle("GET /api/files/trash", s.authed(s.listTrash))
	mux.Handle("POST /api/files/trash/restore", s.authed(s.restoreTrash))

	mux.Handle("GET /api/admin/users", s.professor(s.listUsers))
	mux.Handle("POST /api/admin/users", s.professor(s.createUser))
	mux.Handle("PATCH /api/admin/users/{username}", s.professor(s.updateUser))
	mux.Handle("POST /api/admin/users/import", s.professor(s.importUsers))
	mux.Handle("POST /api/admin/users/{username}/password", s.professor(s.resetPassword))
	mux.Handle("GET /api/admin/sessions", s.professor(s.listSessions))
	mux.Handle("POST /api/admin/distribute", s.professor(s.distribute))

	mux.Handle("GET /api/admin/processes", s.professor(s.listProcesses))
	mux.Handle("DELETE /api/admin/processes/{id}", s.professor(s.stopProcess))
	mux.Handle("POST /api/admin/drain", s.professor(s.drainInstance))

	mux.Handle("GET /ws", s.authed(s.websocket))
	s.routeAssist(mux)
	if s.assignments != nil {
		s.routeAssignments(mux)
	}
	if s.exams != nil {
		s.routeExams(mux)
	}

	mux.HandleFunc("/api/", s.apiNotFound)
	s.routeUI(mux)

	return s.logAndRecover(s.crossOrigin(mux))
}
