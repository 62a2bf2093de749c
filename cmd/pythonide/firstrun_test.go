package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFirstRun follows the README's first command on an empty data folder:
// the server makes a teacher account and prints, once, how to log in; the
// login page's question (GET /api/setup) says this is a new server until
// that teacher has logged in; a restart prints nothing again.
func TestFirstRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "serve.log")
	setup := func(addr string) (v struct {
		FirstRun bool   `json:"first_run"`
		Username string `json:"username"`
	}) {
		t.Helper()
		res, err := http.Get("http://" + addr + "/api/setup")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /api/setup: %v %v", res, err)
		}
		defer res.Body.Close()
		json.NewDecoder(res.Body).Decode(&v)
		return v
	}

	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	var user, pw string
	re := regexp.MustCompile(`(?m)^\s+username\s+(\S+)\n\s+password\s+(\S+)$`)
	if !waitFor(10*time.Second, func() bool {
		out, _ := os.ReadFile(logPath)
		m := re.FindStringSubmatch(string(out))
		if m != nil {
			user, pw = m[1], m[2]
		}
		return m != nil
	}) {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("no account was printed:\n%s", out)
	}
	out, _ := os.ReadFile(logPath)
	if strings.Count(string(out), pw) != 1 || !strings.Contains(string(out), "http://"+addr+"/") {
		t.Fatalf("the password should be printed exactly once, with the address:\n%s", out)
	}
	if s := setup(addr); !s.FirstRun || s.Username != user {
		t.Fatalf("before the first login: %+v", s)
	}
	c := login(t, addr, user, pw)
	res, err := c.Get("http://" + addr + "/api/me")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("me: %v %v", res, err)
	}
	var me struct{ Role string }
	json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if me.Role != "professor" {
		t.Fatalf("the first account is a %q", me.Role)
	}
	if s := setup(addr); s.FirstRun || s.Username != "" {
		t.Fatalf("after the teacher logged in: %+v", s)
	}

	// Restarted: the account is there, nothing is printed again.
	srv.Process.Kill()
	srv.Wait()
	os.Truncate(logPath, 0)
	addr = freeAddr(t) // the old port was free for anyone to take since
	startServer(t, data, addr)
	login(t, addr, user, pw)
	out, _ = os.ReadFile(logPath)
	if strings.Contains(string(out), "password ") {
		t.Fatalf("a restart printed a password again:\n%s", out)
	}
}
