package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// rig is a real server (real store, real workspace on disk, real HTTP) for
// end-to-end API scenarios.
type rig struct {
	t    *testing.T
	srv  *httptest.Server
	cfg  *config.Config
	st   *store.Store
	ws   *workspace.Workspace
	data string

	server *Server
	runner *runner.Runner // set by newRunRig
	reg    *registry.Registry
	sweep  *cleanup.Service
}

func newRig(t *testing.T, st *store.Store, tweak func(*config.Config)) *rig {
	t.Helper()
	s, srv, c, ws := newTestServer(t, st, tweak)
	return &rig{t: t, srv: srv, cfg: c, st: st, ws: ws, data: c.DataDir, server: s}
}

// newTestServer builds the real handler chain over st and a workspace in a
// temporary folder, served by httptest (small limits unless tweaked).
func newTestServer(t testing.TB, st *store.Store, tweak func(*config.Config)) (*Server, *httptest.Server, *config.Config, *workspace.Workspace) {
	t.Helper()
	c := config.Defaults()
	c.DataDir = t.TempDir()
	c.MaxFileBytes = 64 << 10
	c.QuotaBytes = 256 << 10
	c.MaxJSONBytes = 16 << 10
	c.LoginPerUser = 1000
	c.LoginPerAddr = 1000
	if tweak != nil {
		tweak(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	wopts := workspace.Options{MaxFileBytes: c.MaxFileBytes, QuotaBytes: c.QuotaBytes, QuotaFiles: c.QuotaFiles}
	if os.Geteuid() == 0 { // as serve does: homes belong to the uid programs run as
		wopts.HomeUID, wopts.HomeGID = c.SandboxUID, c.SandboxUID
	}
	ws, err := workspace.Open(filepath.Join(c.DataDir, "ide"), wopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := auth.NewManager(st, auth.Options{TTL: c.SessionTTL, SingleSession: c.SingleSession,
		LoginPerUser: c.LoginPerUser, LoginPerAddr: c.LoginPerAddr, LoginWindow: c.LoginWindow}, log)
	ros := &roster.Roster{Store: st, Workspace: ws, EndSessions: func(ctx context.Context, u string) error { return m.EndUserSessions(ctx, u, "") }}
	s := New(Deps{Config: c, Store: st, Workspace: ws, Auth: m, Roster: ros, Log: log})
	// Homework grades with the runner a run rig adds later (rigGrader).
	s.assignments = assignment.New(st, ws, assignment.Options{Dir: filepath.Join(c.DataDir, "submissions"),
		QuotaBytes: c.QuotaBytes, Grader: rigGrader{s}, GraderID: "test"}, log)
	// Exam mode over them (an exam test replaces it with one that runs).
	s.exams = exam.New(st, ws, s.assignments, exam.Options{Instance: "test"}, log)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv, c, ws
}

// rigGrader grades with the server's runner, once a run rig has set one.
type rigGrader struct{ s *Server }

func (g rigGrader) RunTests(ctx context.Context, t runner.TestRun) (runner.TestReport, error) {
	if g.s.runner == nil {
		return runner.TestReport{}, errors.New("this rig runs no programs")
	}
	return g.s.runner.RunTests(ctx, t)
}

// user creates an account directly through the roster.
func (r *rig) user(name string, role store.Role) {
	r.t.Helper()
	ros := &roster.Roster{Store: r.st, Workspace: r.ws}
	if _, err := ros.Create(context.Background(), roster.NewUser{Username: name, Password: name + "-pw", Role: role, FullName: strings.ToUpper(name)}); err != nil {
		r.t.Fatal(err)
	}
}

// client is a browser-like client of one user: a cookie jar and the
// server's own Origin on every request.
type client struct {
	r    *rig
	http *http.Client
	name string
}

func (r *rig) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{r: r, http: &http.Client{Jar: jar}}
}

func (r *rig) login(name string) *client {
	r.t.Helper()
	c := r.anon()
	c.name = name
	res := c.do("POST", "/api/login", map[string]string{"username": name, "password": name + "-pw"}, nil)
	if res.status != 200 {
		r.t.Fatalf("login %s: %d %s", name, res.status, res.body)
	}
	return c
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (res result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(res.body, v); err != nil {
		t.Fatalf("bad JSON %q: %v", res.body, err)
	}
}

// errCode is the API error code of the body, "" if none.
func (res result) errCode() string {
	var e errorBody
	_ = json.Unmarshal(res.body, &e)
	return string(e.Error.Code)
}

// do sends body as JSON (a []byte or io.Reader is sent raw).
func (c *client) do(method, path string, body any, hdr map[string]string) result {
	c.r.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.r.srv.URL+path, rd)
	if err != nil {
		c.r.t.Fatal(err)
	}
	req.Header.Set("Origin", c.r.srv.URL)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// put saves content through the API.
func (c *client) put(path, content string) result {
	c.r.t.Helper()
	return c.do("PUT", "/api/files/content?path="+qp(path), []byte(content), nil)
}

func (c *client) get(path string) result {
	c.r.t.Helper()
	return c.do("GET", "/api/files/content?path="+qp(path), nil, nil)
}

func qp(p string) string { return url.QueryEscape(p) }
