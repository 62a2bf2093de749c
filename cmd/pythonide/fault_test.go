package main

import (
	"encoding/json"
	"fmt"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Fault injection (issue 7, part 3) on the real binary: the database goes
// away in the middle of a class, the data volume fills up or turns
// read-only, and the server is told to stop while programs run. SIGKILL
// during saves and runs is in main_test.go and reap_test.go.

// faultEnv gives the servers of one test a cgroup subtree of their own (a
// server reaps leftovers of its subtree at start) and a data folder the
// sandbox uid can walk down to.
func faultEnv(t *testing.T) (dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	dir = t.TempDir() // private parents, as a newcomer's may be
	t.Setenv("PYTHONIDE_CGROUP_NAME", fmt.Sprintf("pythonide-faulttest-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-")))
	return dir
}

func addUser(t *testing.T, data, name, pw string) { addUserAs(t, data, name, "student", pw) }

func addUserAs(t *testing.T, data, name, role, pw string) {
	t.Helper()
	add := command(t, data, "user", "add", name, "--role", role, "--password-stdin")
	add.Stdin = strings.NewReader(pw + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add %s: %v\n%s", name, err, out)
	}
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, c *http.Client, method, u string, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, string(b), res.Header}
}

func putFile(t *testing.T, c *http.Client, addr, p, content string) answer {
	t.Helper()
	return do(t, c, "PUT", "http://"+addr+"/api/files/content?path="+url.QueryEscape(p), content)
}

// errMessage is the person-facing message of an API error body.
func errMessage(a answer) (code, message string) {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(a.body), &e)
	return e.Error.Code, e.Error.Message
}

type healthAnswer struct {
	code    int
	Status  string
	Reasons []struct{ Check, Message string }
	raw     string
}

func (h healthAnswer) has(check string) bool {
	for _, r := range h.Reasons {
		if r.Check == check {
			return true
		}
	}
	return false
}

func health(t *testing.T, addr string) healthAnswer {
	t.Helper()
	a := do(t, &http.Client{Timeout: 30 * time.Second}, "GET", "http://"+addr+"/health", "")
	var h healthAnswer
	json.Unmarshal([]byte(a.body), &h)
	h.code, h.raw = a.status, a.body
	return h
}

// runPrints runs path on a fresh socket and returns its output up to the
// REPL prompt, then stops it.
func runPrints(t *testing.T, c *http.Client, addr, path, id string) string {
	t.Helper()
	ws := dialWS(t, c, addr)
	defer ws.conn.CloseNow()
	ws.send(t, map[string]any{"type": "run", "id": id, "path": path})
	out, _ := ws.until(t, id, "repl_ready")
	ws.send(t, map[string]any{"type": "stop", "id": id})
	ws.until(t, id, "exit")
	return out
}

func TestFaultDatabaseStopsMidClass(t *testing.T) {
	dir := faultEnv(t)
	pg := storetest.PrivatePostgres(t)
	t.Setenv("PYTHONIDE_DB", pg.URL())
	data := filepath.Join(dir, "data")
	addUser(t, data, "alice", "alice-pw-1")
	addUser(t, data, "bob", "bob-pw-12")
	addr := freeAddr(t)
	startServer(t, data, addr)
	base := "http://" + addr
	alice := login(t, addr, "alice", "alice-pw-1")
	if h := health(t, addr); h.code != 200 || h.Status != "ok" {
		t.Fatalf("health before: %d %s", h.code, h.raw)
	}
	ws := dialWS(t, alice, addr) // a socket open across the outage
	save(t, alice, addr, "Local/alice/before.py", "print('before')\n")

	pg.Stop()
	h := health(t, addr)
	if h.code != 200 || h.Status != "degraded" || !h.has("database") {
		t.Fatalf("health during the outage: %d %s", h.code, h.raw)
	}
	// Past the session cache's revalidation the store is asked and fails:
	// a student already logged in saves, reads and runs on.
	time.Sleep(6 * time.Second)
	if a := putFile(t, alice, addr, "Local/alice/during.py", "print('during')\n"); a.status != 200 {
		t.Fatalf("save during the outage: %d %s", a.status, a.body)
	}
	if a := do(t, alice, "GET", base+"/api/files/content?path=Local/alice/before.py", ""); a.status != 200 || a.body != "print('before')\n" {
		t.Fatalf("read during the outage: %d %s", a.status, a.body)
	}
	ws.send(t, map[string]any{"type": "run", "id": "d", "path": "Local/alice/during.py"})
	if out, _ := ws.until(t, "d", "repl_ready"); out != "during\n" {
		t.Fatalf("run during the outage printed %q", out)
	}
	if out := runPrints(t, alice, addr, "Local/alice/before.py", "d2"); out != "before\n" {
		t.Fatalf("run on a new socket during the outage printed %q", out)
	}
	// A new login cannot work, and says so plainly.
	a := do(t, &http.Client{Timeout: 30 * time.Second}, "POST", base+"/api/login", `{"username":"bob","password":"bob-pw-12"}`)
	if code, msg := errMessage(a); a.status != 503 || code != "unavailable" || !strings.Contains(msg, "not possible right now") {
		t.Errorf("login during the outage: %d %s", a.status, a.body)
	}

	pg.Start()
	deadline := time.Now().Add(60 * time.Second)
	for h = health(t, addr); h.Status != "ok" && time.Now().Before(deadline); h = health(t, addr) {
		time.Sleep(200 * time.Millisecond)
	}
	if h.code != 200 || h.Status != "ok" {
		t.Fatalf("health after the database returned: %d %s", h.code, h.raw)
	}
	bob := login(t, addr, "bob", "bob-pw-12")
	save(t, bob, addr, "Local/bob/after.py", "print('after')\n")
	if out := runPrints(t, bob, addr, "Local/bob/after.py", "b"); out != "after\n" {
		t.Fatalf("bob's run after the outage printed %q", out)
	}
	if a := putFile(t, alice, addr, "Local/alice/during.py", "print('after')\n"); a.status != 200 {
		t.Fatalf("alice saves after the outage: %d %s", a.status, a.body)
	}
}

func TestFaultDataVolumeFullThenReadOnly(t *testing.T) {
	dir := faultEnv(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a small data volume (tmpfs) needs root")
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=16m,mode=0755"); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(data, syscall.MNT_DETACH) }) // after the server is killed
	// The database lives elsewhere: this is about the data volume, and a
	// file open for writing would keep it from turning read-only.
	t.Setenv("PYTHONIDE_DB", filepath.Join(dir, "pythonide.db"))
	addUser(t, data, "alice", "alice-pw-1")
	addr := freeAddr(t)
	startServer(t, data, addr)
	alice := login(t, addr, "alice", "alice-pw-1")
	save(t, alice, addr, "Local/alice/hw.py", "print('hw')\n")
	if h := health(t, addr); h.code != 200 || h.Status != "ok" {
		t.Fatalf("health before: %d %s", h.code, h.raw)
	}

	// Full: an operator's (or a runaway) file takes every byte left.
	filler := filepath.Join(data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !strings.Contains(err.Error(), "no space") {
				t.Fatalf("filling the volume: %v", err)
			}
			break
		}
	}
	f.Close()
	a := putFile(t, alice, addr, "Local/alice/hw.py", strings.Repeat("# more work\n", 2000))
	if code, msg := errMessage(a); a.status != 507 || code != "limit_reached" || !strings.Contains(msg, "disk is full") {
		t.Errorf("save on a full volume: %d %s", a.status, a.body)
	}
	h := health(t, addr)
	if h.code != 503 || h.Status != "unhealthy" || !h.has("storage") {
		t.Errorf("health on a full volume: %d %s", h.code, h.raw)
	}
	// What was saved is intact and still runs.
	if a := do(t, alice, "GET", "http://"+addr+"/api/files/content?path=Local/alice/hw.py", ""); a.status != 200 || a.body != "print('hw')\n" {
		t.Errorf("reading on a full volume: %d %q", a.status, a.body)
	}
	if out := runPrints(t, alice, addr, "Local/alice/hw.py", "full"); out != "hw\n" {
		t.Errorf("running on a full volume printed %q", out)
	}
	os.Remove(filler)
	waitHealth(t, addr, "ok")
	save(t, alice, addr, "Local/alice/hw.py", "print('hw2')\n")

	// Read-only: the volume is remounted so (as the kernel does on errors).
	if err := syscall.Mount("", data, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remounting the data volume read-only: %v (does the server keep a file open for writing in it?)", err)
	}
	a = putFile(t, alice, addr, "Local/alice/hw.py", "print('lost?')\n")
	if code, msg := errMessage(a); a.status != 503 || code != "unavailable" || !strings.Contains(msg, "read-only") {
		t.Errorf("save on a read-only volume: %d %s", a.status, a.body)
	}
	for _, op := range []struct{ method, path, body string }{
		{"POST", "/api/files/mkdir", `{"path":"Local/alice/d"}`},
		{"DELETE", "/api/files?path=Local/alice/hw.py", ""},
	} {
		a := do(t, alice, op.method, "http://"+addr+op.path, op.body)
		if code, msg := errMessage(a); a.status != 503 || code != "unavailable" || !strings.Contains(msg, "read-only") {
			t.Errorf("%s %s on a read-only volume: %d %s", op.method, op.path, a.status, a.body)
		}
	}
	h = health(t, addr)
	if h.code != 503 || h.Status != "unhealthy" || !h.has("storage") {
		t.Errorf("health on a read-only volume: %d %s", h.code, h.raw)
	}
	if out := runPrints(t, alice, addr, "Local/alice/hw.py", "ro"); out != "hw2\n" {
		t.Errorf("running on a read-only volume printed %q", out)
	}
	if err := syscall.Mount("", data, "", syscall.MS_REMOUNT, ""); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, addr, "ok")
	save(t, alice, addr, "Local/alice/hw.py", "print('hw3')\n")
}

func waitHealth(t *testing.T, addr, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	h := health(t, addr)
	for h.Status != status && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		h = health(t, addr)
	}
	if h.Status != status {
		t.Fatalf("health did not become %s: %d %s", status, h.code, h.raw)
	}
}

func TestFaultSIGTERMDuringRuns(t *testing.T) {
	dir := faultEnv(t)
	data := filepath.Join(dir, "data")
	addUser(t, data, "alice", "alice-pw-1")
	addUser(t, data, "bob", "bob-pw-12")
	addr := freeAddr(t)
	const shutdownTimeout, drainTimeout = 5 * time.Second, 2 * time.Second
	t.Setenv("PYTHONIDE_SHUTDOWN_TIMEOUT", shutdownTimeout.String())
	t.Setenv("PYTHONIDE_DRAIN_TIMEOUT", drainTimeout.String())
	srv := startServer(t, data, addr)
	alice := login(t, addr, "alice", "alice-pw-1")
	bob := login(t, addr, "bob", "bob-pw-12")
	unique := fmt.Sprintf("term_%d_%d", os.Getpid(), time.Now().UnixNano())
	// One ignores SIGTERM and sleeps, one waits for input, one is at the REPL.
	save(t, alice, addr, "Local/alice/"+unique+"_a.py", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\ntime.sleep(600)\n")
	save(t, bob, addr, "Local/bob/"+unique+"_b.py", "print('up', flush=True)\ninput('? ')\n")
	save(t, bob, addr, "Local/bob/"+unique+"_c.py", "print('up')\n")
	// A socket each: until skips (and loses) other ids' messages.
	wa, wb, wc := dialWS(t, alice, addr), dialWS(t, bob, addr), dialWS(t, bob, addr)
	wa.send(t, map[string]any{"type": "run", "id": "a", "path": "Local/alice/" + unique + "_a.py"})
	wb.send(t, map[string]any{"type": "run", "id": "b", "path": "Local/bob/" + unique + "_b.py"})
	wc.send(t, map[string]any{"type": "run", "id": "c", "path": "Local/bob/" + unique + "_c.py"})
	wa.until(t, "a", "stdout")
	wb.until(t, "b", "input_request")
	wc.until(t, "c", "repl_ready")
	procs := append(processesOf(t, homeOf(data, "alice")), processesOf(t, homeOf(data, "bob"))...)
	if len(procs) == 0 {
		t.Fatalf("no host process of the programs %s", unique)
	}

	start := time.Now()
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// SIGTERM drains first: the balancer is told at once, new runs are
	// refused saying why, and the running ones get the drain's time.
	if !waitFor(time.Second, func() bool {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	}) {
		t.Error("/readyz still ready while the server drains")
	}
	wd := dialWS(t, alice, addr)
	save(t, alice, addr, "Local/alice/"+unique+"_d.py", "print('late')\n")
	wd.send(t, map[string]any{"type": "run", "id": "d", "path": "Local/alice/" + unique + "_d.py"})
	if _, m := wd.until(t, "d", "error"); !strings.Contains(fmt.Sprint(m["message"]), "being replaced") {
		t.Errorf("a run while draining: %v", m)
	}
	for _, x := range []struct {
		w  *wsClient
		id string
	}{{wa, "a"}, {wb, "b"}, {wc, "c"}} {
		_, m := x.w.until(t, x.id, "exit")
		msg, _ := m["message"].(string)
		if m["reason"] != "shutdown" || msg == "" || strings.Contains(strings.ToLower(msg), "signal") {
			t.Errorf("run %s at shutdown: %v", x.id, m)
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	bound := drainTimeout + shutdownTimeout + 5*time.Second
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server exited with %v after SIGTERM, want 0", err)
		}
		if took := time.Since(start); took < drainTimeout {
			t.Errorf("the server stopped %v after SIGTERM, before its %v drain", took, drainTimeout)
		}
		t.Logf("stopped %v after SIGTERM (drain %v, shutdown timeout %v)", time.Since(start).Round(10*time.Millisecond), drainTimeout, shutdownTimeout)
	case <-time.After(bound):
		t.Fatalf("the server still runs %v after SIGTERM", bound)
	}
	if !waitFor(5*time.Second, func() bool { return allGone(procs) }) {
		t.Errorf("programs outlive the server: %v", alive(procs))
	}
	// It starts again on the same data, and the students carry on.
	addr = freeAddr(t) // the old port was free for anyone to take since
	startServer(t, data, addr)
	alice = login(t, addr, "alice", "alice-pw-1")
	save(t, alice, addr, "Local/alice/again.py", "print('again')\n")
	if out := runPrints(t, alice, addr, "Local/alice/again.py", "again"); out != "again\n" {
		t.Fatalf("after the restart: %q", out)
	}
}
