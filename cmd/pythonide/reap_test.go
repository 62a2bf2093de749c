package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pythonide/pythonide/internal/sandbox/sandboxtest"
)

// TestKilledServerLeavesNoProgramBehind runs a student's program in the real
// binary, SIGKILLs the server (no shutdown code runs), and restarts it on
// the same data: the old program must be gone, killed by the parent-death
// signal or reaped at start, and no cgroup of it may remain. A process
// planted in the old program's cgroups stands for one that outlived its
// server: the restart must kill it.
func TestKilledServerLeavesNoProgramBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real servers")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	dir := t.TempDir() // private parents, as a newcomer's may be
	data := filepath.Join(dir, "data")
	// A cgroup subtree of our own: a server reaps leftovers of its subtree at
	// start, and must not reap those of another test's server.
	cgName := fmt.Sprintf("pythonide-reaptest-%d", os.Getpid())
	t.Setenv("PYTHONIDE_CGROUP_NAME", cgName)
	add := command(t, data, "user", "add", "alice", "--role", "student", "--password-stdin")
	add.Stdin = strings.NewReader("alice-pw-1\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	c := login(t, addr, "alice", "alice-pw-1")

	// A name nothing else on the machine has, to find the program's host
	// processes by: inside bwrap's pid namespace os.getpid() is not the host pid.
	unique := fmt.Sprintf("reap_%d_%d", os.Getpid(), time.Now().UnixNano())
	src := fmt.Sprintf("open(%q, 'w').write('here')\nprint('up')\nimport time\ntime.sleep(600)\n", unique+".marker")
	path := "Local/alice/" + unique + ".py"
	save(t, c, addr, path, src)
	ws := dialWS(t, c, addr)
	ws.send(t, map[string]any{"type": "run", "id": "r", "path": path})
	if out, _ := ws.until(t, "r", "stdout"); !strings.HasPrefix("up\n", out) {
		t.Fatalf("program printed %q", out)
	}
	if found, _ := filepath.Glob(filepath.Join(data, "*", "*", "alice", unique+".marker")); len(found) != 1 {
		t.Errorf("the program's file in its home: %v", found)
	}
	procs := processesOf(t, homeOf(data, "alice"))
	if len(procs) == 0 {
		t.Fatalf("no host process of alice's program %s", unique)
	}
	groups := cgroupsOf(procs, cgName)
	t.Logf("program: host processes %v, cgroups %v", procs, groups)

	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	killedAt := time.Now()
	how := "killed by the parent-death signal before the restart"
	if !waitFor(5*time.Second, func() bool { return allGone(procs) }) {
		how = "still running after the server died; reaped by the restarted server"
	}
	t.Logf("after SIGKILL of the server: %s (%v)", how, time.Since(killedAt).Round(time.Millisecond))

	// Pretend a process outlived its server (as one would where the
	// parent-death signal cannot act): put a sleeper in the old program's
	// cgroups. The restarted server must reap it by cgroup membership.
	var straggler *exec.Cmd
	if len(groups) > 0 {
		straggler = exec.Command("/usr/bin/python3", "-c", "import time; time.sleep(600)")
		straggler.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := straggler.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { straggler.Process.Kill(); straggler.Wait() })
		for _, g := range groups {
			if err := os.WriteFile(filepath.Join(g, "cgroup.procs"), []byte(fmt.Sprint(straggler.Process.Pid)), 0); err != nil {
				t.Fatalf("placing the straggler in %s: %v", g, err)
			}
		}
		procs = append(procs, hostProc{straggler.Process.Pid, mustStart(t, straggler.Process.Pid)})
	}

	// Beside it, a process that merely looks like ours: reaping at start goes
	// by cgroup membership, never by name, so it must survive.
	if err := os.WriteFile(filepath.Join(dir, "server.py"), []byte("import time\ntime.sleep(600)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lookalike := &exec.Cmd{Path: "/usr/bin/python3", Args: []string{"python3", "server.py", unique}, Dir: dir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := lookalike.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lookalike.Process.Kill(); lookalike.Wait() })
	lookalikeProc := []hostProc{{lookalike.Process.Pid, mustStart(t, lookalike.Process.Pid)}}

	// A fresh address: the killed server's port was free for anyone on the
	// machine to take since (CI runs other suites beside this one).
	addr = freeAddr(t)
	srv2 := startServer(t, data, addr)
	stopped := false
	stop := func() { // a clean stop removes this instance's cgroup subtree
		if !stopped {
			stopped = true
			srv2.Process.Signal(syscall.SIGTERM)
			srv2.Wait()
		}
	}
	t.Cleanup(stop) // before startServer's SIGKILL, even when the test fails
	if !waitFor(10*time.Second, func() bool { return allGone(procs) }) {
		t.Fatalf("the old program's processes survive the restart: %v", alive(procs))
	}
	if len(alive(lookalikeProc)) != 1 {
		t.Errorf("the restart killed %q, which it did not start", "python3 server.py")
	}
	if straggler != nil {
		straggler.Wait()
		if st := straggler.ProcessState.Sys().(syscall.WaitStatus); !st.Signaled() || st.Signal() != syscall.SIGKILL {
			t.Errorf("the straggler ended %v, want killed by the restarted server", straggler.ProcessState)
		}
	}
	for _, g := range groups {
		if _, err := os.Stat(g); !os.IsNotExist(err) {
			t.Errorf("cgroup %s of the old instance remains after the restart (%v)", g, err)
		}
	}
	if log, err := os.ReadFile(filepath.Join(dir, "serve.log")); err == nil {
		for _, l := range strings.Split(string(log), "\n") {
			if strings.Contains(l, "leftover") {
				t.Logf("serve.log: %s", l)
			}
		}
	}

	// The student logs in again and works as before.
	c = login(t, addr, "alice", "alice-pw-1")
	save(t, c, addr, "Local/alice/again.py", "print('again')\n")
	ws = dialWS(t, c, addr)
	ws.send(t, map[string]any{"type": "run", "id": "a", "path": "Local/alice/again.py"})
	if out, _ := ws.until(t, "a", "repl_ready"); out != "again\n" {
		t.Fatalf("after the restart the program printed %q", out)
	}
	ws.send(t, map[string]any{"type": "stdin", "id": "a", "data": "exit()"})
	if _, m := ws.until(t, "a", "exit"); m["reason"] != "exited" {
		t.Fatalf("after the restart: %v", m)
	}

	stop()
	for _, g := range groups {
		if parent := filepath.Dir(g); filepath.Base(parent) == cgName {
			if _, err := os.Stat(parent); !os.IsNotExist(err) {
				t.Errorf("cgroup subtree %s remains after a clean stop (%v)", parent, err)
			}
		}
	}
}

func save(t *testing.T, c *http.Client, addr, path, content string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+addr+"/api/files/content?path="+url.QueryEscape(path), strings.NewReader(content))
	req.Header.Set("Origin", "http://"+addr)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("save %s: %d", path, res.StatusCode)
	}
}

type wsClient struct {
	conn *websocket.Conn
	msgs chan map[string]any
}

func dialWS(t *testing.T, c *http.Client, addr string) *wsClient {
	t.Helper()
	hc := *c
	hc.Timeout = 0 // the websocket library takes deadlines from contexts only
	conn, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws",
		&websocket.DialOptions{HTTPClient: &hc, HTTPHeader: http.Header{"Origin": {"http://" + addr}}})
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	w := &wsClient{conn: conn, msgs: make(chan map[string]any, 1024)}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				w.msgs <- m
			}
		}
	}()
	return w
}

func (w *wsClient) send(t *testing.T, m map[string]any) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := w.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatalf("websocket write: %v", err)
	}
}

// until returns id's first message of type typ and the stdout before it
// (or in it); an exit or error before it fails the test.
func (w *wsClient) until(t *testing.T, id, typ string) (stdout string, msg map[string]any) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				t.Fatalf("connection closed while waiting for %s of %q", typ, id)
			}
			if m["id"] != id {
				continue
			}
			if m["type"] == "stdout" {
				stdout += m["data"].(string)
			}
			if m["type"] == typ {
				return stdout, m
			}
			if m["type"] == "exit" || m["type"] == "error" {
				t.Fatalf("waiting for %s of %q: %v", typ, id, m)
			}
		case <-deadline:
			t.Fatalf("no %s of %q within 30 s", typ, id)
		}
	}
}

// hostProc is a process found on the host, with its start time (field 22
// of /proc/<pid>/stat), so a reused pid is not mistaken for it.
type hostProc struct {
	pid   int
	start string
}

// processesOf finds every host process of a student's programs and warm
// interpreters: those whose command line, environment or working folder
// names the student's home (its host path), or whose mount table has it
// mounted (under bubblewrap, /proc/<pid>/mountinfo names a bind mount's
// root inside its file system: see sandboxtest.InFS). A warm interpreter
// that took a run names no script, so its command line alone would not do.
func processesOf(t *testing.T, home string) []hostProc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	mounted := " " + sandboxtest.InFS(home) + " "
	var out []hostProc
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		dir := "/proc/" + e.Name()
		cmd, _ := os.ReadFile(dir + "/cmdline")
		env, _ := os.ReadFile(dir + "/environ")
		cwd, _ := os.Readlink(dir + "/cwd")
		mounts, _ := os.ReadFile(dir + "/mountinfo")
		blob := string(cmd) + "\x00" + string(env) + "\x00" + cwd + "\x00" + string(mounts)
		if !strings.Contains(blob, home+"/") && !strings.Contains(blob, home+"\x00") && !strings.Contains(blob, mounted) {
			continue
		}
		if st, state := stat(pid); st != "" && state != "Z" {
			out = append(out, hostProc{pid, st})
		}
	}
	return out
}

// homeOf is a student's home folder in the data folder data.
func homeOf(data, user string) string {
	abs, _ := filepath.Abs(filepath.Join(data, "ide", "Local", user))
	return abs
}

func mustStart(t *testing.T, pid int) string {
	t.Helper()
	st, _ := stat(pid)
	if st == "" {
		t.Fatalf("no process %d", pid)
	}
	return st
}

// stat returns the start time and state of pid ("" if there is none).
func stat(pid int) (start, state string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", ""
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 20 {
		return "", ""
	}
	return f[19], f[0]
}

// alive lists those of ps still running (a zombie is not running: it only
// waits for whoever adopted it to collect its status).
func alive(ps []hostProc) []hostProc {
	var out []hostProc
	for _, p := range ps {
		if st, state := stat(p.pid); st == p.start && state != "Z" && state != "X" {
			out = append(out, p)
		}
	}
	return out
}

func allGone(ps []hostProc) bool { return len(alive(ps)) == 0 }

// cgroupsOf returns the host directories of the cgroups ps are in, below
// our subtree cgName, in every hierarchy (v2 and each v1 controller).
func cgroupsOf(ps []hostProc, cgName string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p.pid))
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 || !strings.Contains(parts[2], "/"+cgName+"/") {
				continue
			}
			var candidates []string
			if parts[1] == "" {
				candidates = []string{"/sys/fs/cgroup/unified" + parts[2], "/sys/fs/cgroup" + parts[2]}
			} else {
				candidates = []string{"/sys/fs/cgroup/" + parts[1] + parts[2]}
				for _, ctrl := range strings.Split(parts[1], ",") {
					candidates = append(candidates, "/sys/fs/cgroup/"+strings.TrimPrefix(ctrl, "name=")+parts[2])
				}
			}
			for _, d := range candidates {
				if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil && !seen[d] {
					seen[d] = true
					out = append(out, d)
					break
				}
			}
		}
	}
	return out
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
