package deploy

import (
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/web"
)

// serveConfig loads a `pythonide serve` command line and environment through
// the server's own configuration loader: an unknown flag, an unknown
// PYTHONIDE_* variable or an invalid value fails the test, exactly as it
// would stop the server at start.
func serveConfig(t *testing.T, what string, argv []string, env map[string]string) *config.Config {
	t.Helper()
	if len(argv) == 0 || argv[0] != "serve" {
		t.Fatalf("%s: command %q does not start with serve", what, argv)
	}
	known := envNames()
	for name := range env {
		if !known[name] {
			t.Errorf("%s: %s is not a setting of the server (see internal/config/options.go)", what, name)
		}
	}
	c := config.Defaults()
	fs := config.FlagSet("serve", c)
	fs.SetOutput(io.Discard)
	rest, err := config.Load(fs, c, argv[1:], func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: the server would refuse this configuration: %v", what, err)
	}
	if len(rest) > 0 {
		t.Fatalf("%s: serve takes no arguments, got %q", what, rest)
	}
	return c
}

// envNames is every PYTHONIDE_* variable the server reads: one per option,
// and PYTHONIDE_<NAME>_FILE for secrets.
func envNames() map[string]bool {
	out := map[string]bool{}
	secret := secretEnvNames()
	config.FlagSet("names", config.Defaults()).VisitAll(func(f *flag.Flag) {
		n := config.EnvName(f.Name)
		out[n] = true
		if secret[n] {
			out[n+"_FILE"] = true
		}
	})
	return out
}

// secretEnvNames finds the secret options from the outside: a value set on a
// secret option never appears in the printed configuration (Config.Print
// masks it). Only options that take free text can be probed, which is what a
// secret is.
func secretEnvNames() map[string]bool {
	const probe = "deploy-test-probe-value"
	c := config.Defaults()
	fs := config.FlagSet("secrets", c)
	var set []string
	fs.VisitAll(func(f *flag.Flag) {
		if fs.Set(f.Name, probe) == nil {
			set = append(set, config.EnvName(f.Name))
		}
	})
	var b strings.Builder
	c.Print(&b)
	printed := map[string]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			printed[k] = v
		}
	}
	out := map[string]bool{}
	for _, n := range set {
		if !strings.Contains(printed[n], probe) {
			out[n] = true
		}
	}
	return out
}

func TestSecretOptionsFound(t *testing.T) {
	s := secretEnvNames()
	for _, n := range []string{"PYTHONIDE_DB", "PYTHONIDE_METRICS_TOKEN"} {
		if !s[n] {
			t.Errorf("%s is not detected as a secret (detected: %v)", n, s)
		}
	}
	if s["PYTHONIDE_LISTEN"] || s["PYTHONIDE_DATA"] {
		t.Errorf("plain settings detected as secrets: %v", s)
	}
}

// serves reports the status and body the real HTTP handler gives a GET of
// path, with no session (as a load balancer or container health check asks).
func serves(t *testing.T, path string) (int, string) {
	t.Helper()
	c := config.Defaults()
	s := web.New(web.Deps{Config: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// checkHealthURL checks a health check's URL: loopback, the port the server
// listens on, and a path the server answers 200 without a session.
func checkHealthURL(t *testing.T, what, raw, listen string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: health check URL %q: %v", what, raw, err)
	}
	_, port, _ := net.SplitHostPort(listen)
	if u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" {
		t.Errorf("%s: health check asks %s, want the container's loopback", what, u.Host)
	}
	if u.Port() != port {
		t.Errorf("%s: health check port %q, the server listens on %q", what, u.Port(), listen)
	}
	code, body := serves(t, u.Path)
	var v struct{ Status string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil || v.Status != "ok" {
		t.Errorf("%s: GET %s answers %d %q, want 200 with status ok", what, u.Path, code, body)
	}
}

func TestHealthRouteCheckCanFail(t *testing.T) {
	if code, _ := serves(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	for _, p := range []string{"/health-z", "/api/healthz"} {
		if code, _ := serves(t, p); code == http.StatusOK {
			t.Errorf("%s answers 200: the route check would pass anything", p)
		}
	}
}

// healthURLIn finds the http:// URL in a health check command.
func healthURLIn(t *testing.T, what string, cmd []string) string {
	t.Helper()
	for _, a := range cmd {
		if i := strings.Index(a, "http://"); i >= 0 {
			end := strings.IndexAny(a[i:], "'\" ")
			if end < 0 {
				end = len(a) - i
			}
			return a[i : i+end]
		}
	}
	t.Fatalf("%s: no http:// URL in the health check %q", what, cmd)
	return ""
}
