package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// uiPrereqs says what the browser tests need that this machine lacks, if
// anything: Node, the UI's node_modules (npm ci in ui/) and Chromium.
func uiPrereqs(uiDir string) string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed"
	}
	if _, err := os.Stat(filepath.Join(uiDir, "node_modules", "playwright-core")); err != nil {
		return "ui/node_modules is missing (run npm ci in ui/)"
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		return "chromium is not installed at " + chromiumPath() + " (apt-get install chromium)"
	}
	return ""
}

func chromiumPath() string {
	if p := os.Getenv("PYTHONIDE_E2E_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// TestBrowserUI runs the end-to-end suite in ui/e2e (node:test driving
// Debian's Chromium through playwright-core) against the real binary with
// real confined Python: a student's whole session, limits, conflicts,
// reconnects, and the teacher's views.
func TestBrowserUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server and a browser")
	}
	uiDir, err := filepath.Abs(filepath.Join("..", "..", "ui"))
	if err != nil {
		t.Fatal(err)
	}
	if why := uiPrereqs(uiDir); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests cannot run in CI: %s", why)
		}
		t.Skipf("browser tests skipped: %s", why)
	}

	dir := t.TempDir() // private parents, as a newcomer's may be
	data := filepath.Join(dir, "data")
	// PYTHONIDE_E2E_DB runs the class on that database instead of SQLite
	// (an empty PostgreSQL database of its own); the fresh server of the
	// first-run test stays on its own SQLite file.
	var dbFlags []string
	if dsn := os.Getenv("PYTHONIDE_E2E_DB"); dsn != "" {
		dbFlags = []string{"--db", dsn}
	}
	users := map[string]string{}
	for _, u := range []struct{ name, role string }{
		{"alice", "student"}, {"bob", "student"}, {"carol", "student"}, {"dave", "student"},
		{"erin", "student"}, {"frank", "student"}, {"grace", "student"}, {"heidi", "student"}, {"ivan", "student"}, {"judy", "student"}, {"ken", "student"}, {"lena", "student"}, {"max", "student"}, {"nina", "student"}, {"mallory", "student"}, {"prof", "professor"},
	} {
		pw := u.name + "-pw-1"
		add := command(t, data, append([]string{"user", "add", u.name, "--role", u.role, "--full-name", strings.ToUpper(u.name[:1]) + u.name[1:] + " Example", "--password-stdin"}, dbFlags...)...)
		add.Stdin = strings.NewReader(pw + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("user add %s: %v\n%s", u.name, err, out)
		}
		users[u.name] = pw
	}
	// A course folder, read-only to students.
	course := filepath.Join(data, "ide", "Lecture Notes")
	if err := os.MkdirAll(course, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(course, "week1.py"), []byte("print('week 1')\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The browser and the tests load this machine; the server's own load
	// shedding (refusing runs while CPU or memory is high) is tested
	// elsewhere and would only make these tests depend on the load.
	t.Setenv("PYTHONIDE_DEGRADE_CPU_PERCENT", "0")
	t.Setenv("PYTHONIDE_DEGRADE_MEMORY_PERCENT", "0")
	addr := freeAddr(t)
	startServer(t, data, addr, dbFlags...)

	// A second server on an empty data folder, as the README's first
	// command leaves it: the first-run page and the account it printed.
	fresh := filepath.Join(t.TempDir(), "data")
	freshAddr := freeAddr(t)
	startServer(t, fresh, freshAddr)
	var freshPw string
	re := regexp.MustCompile(`(?m)^\s+password\s+(\S+)$`)
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(fresh, "..", "serve.log"))
		m := re.FindSubmatch(b)
		if m != nil {
			freshPw = string(m[1])
		}
		return m != nil
	}) {
		t.Fatal("the fresh server printed no first account")
	}

	// A third, as a small machine's operator might set it: one completer
	// that reads a home, so a second student typing finds it in use and
	// is answered by a shared completer (a limited answer).
	small := filepath.Join(t.TempDir(), "data")
	for _, u := range []string{"alice", "bob"} {
		add := command(t, small, "user", "add", u, "--role", "student", "--password-stdin")
		add.Stdin = strings.NewReader(users[u] + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("user add %s: %v\n%s", u, err, out)
		}
	}
	smallAddr := freeAddr(t)
	startServer(t, small, smallAddr, "--assist-completers", "1")

	shots := os.Getenv("PYTHONIDE_E2E_SHOTS")
	if shots == "" {
		shots = os.TempDir()
	}
	usersJSON, _ := json.Marshal(users)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	args := []string{"--test", "--test-concurrency=1", "--test-reporter=spec"}
	if only := os.Getenv("PYTHONIDE_E2E_ONLY"); only != "" { // e.g. e2e/student.test.mjs while working on one
		args = append(args, only)
	} else {
		args = append(args, "e2e/")
	}
	node := exec.CommandContext(ctx, "node", args...)
	node.Dir = uiDir
	node.Env = append(os.Environ(),
		"PYTHONIDE_E2E_URL=http://"+addr,
		"PYTHONIDE_E2E_USERS="+string(usersJSON),
		"PYTHONIDE_E2E_SHOTS="+shots,
		"PYTHONIDE_E2E_CHROMIUM="+chromiumPath(),
		"PYTHONIDE_E2E_FRESH_URL=http://"+freshAddr,
		"PYTHONIDE_E2E_FRESH_PASSWORD="+freshPw,
		"PYTHONIDE_E2E_SMALL_URL=http://"+smallAddr,
	)
	start := time.Now()
	out, err := node.CombinedOutput()
	t.Logf("node --test (%s):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("browser tests failed: %v (server log: %s)", err, filepath.Join(dir, "serve.log"))
	}
	if !strings.Contains(string(out), "fail 0") || strings.Contains(string(out), "pass 0\n") {
		t.Fatal("node reported no passing browser test")
	}
}
