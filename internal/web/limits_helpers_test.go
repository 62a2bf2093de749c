package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/protocol"
)

// jargon is what a student must never have to read in an exit or error
// message: kernel, server and wire vocabulary.
var jargon = []string{
	"sigkill", "sigxcpu", "signal", "cgroup", "rlimit", "oom", "errno", " pid", "exit status",
	"efbig", "registry", "sandbox", "goroutine", "<nil>", "%!", "_", "{", "0x", "panic", "apierror",
}

// plainWords fails unless msg reads as a sentence written for a student.
func plainWords(t *testing.T, what, msg string) {
	t.Helper()
	if msg == "" {
		t.Errorf("%s: no message for the student", what)
		return
	}
	if r := []rune(msg)[0]; !unicode.IsUpper(r) || !strings.HasSuffix(msg, ".") {
		t.Errorf("%s: message %q is not a sentence", what, msg)
	}
	low := strings.ToLower(msg)
	for _, j := range jargon {
		if strings.Contains(low, j) {
			t.Errorf("%s: message %q contains %q, which a student should not have to read", what, msg, j)
		}
	}
}

// finish waits for the end of run id: its exit, or an error refusing it.
func (w *wsc) finish(id string, timeout time.Duration) (out, errOut string, m protocol.Message) {
	w.t.Helper()
	return w.collect(id, timeout, nil)
}

// collect gathers run id's output until its exit or an error refusing it,
// calling atPrompt (if set) at each REPL prompt. Stdout and stderr are kept
// up to 1 MiB each (a flood would otherwise grow the test).
func (w *wsc) collect(id string, timeout time.Duration, atPrompt func()) (out, errOut string, m protocol.Message) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := w.next(id, time.Until(deadline))
		switch m.Type {
		case protocol.MsgExit, protocol.MsgError:
			return out, errOut, m
		case protocol.MsgStdout:
			if len(out) < 1<<20 {
				out += m.Data
			}
		case protocol.MsgStderr:
			if len(errOut) < 1<<20 {
				errOut += m.Data
			}
		case protocol.MsgREPLReady:
			if atPrompt != nil {
				atPrompt()
			}
		}
	}
}

// runSource saves src as name in c's home and runs it on w as id.
func (c *client) runSource(w *wsc, id, name, src string) {
	c.r.t.Helper()
	p := c.program(name, src)
	w.send(map[string]any{"type": "run", "id": id, "path": p})
}

var afterSeq atomic.Int64

// healthy checks the server is fine after an abuse: /healthz answers and a
// new run of c works from start to finish. A run refused because the
// abusive one is still being removed is retried for a few seconds; a leak
// would outlast that.
func (r *rig) healthy(c *client) {
	r.t.Helper()
	if res := c.do("GET", "/healthz", nil, nil); res.status != http.StatusOK {
		r.t.Fatalf("/healthz: %d %s", res.status, res.body)
	}
	w := c.ws()
	defer w.close()
	p := c.program("after.py", "print('still fine')\n")
	deadline := time.Now().Add(wait)
	for {
		id := "after-" + strconv.FormatInt(afterSeq.Add(1), 10)
		w.send(map[string]any{"type": "run", "id": id, "path": p})
		m := w.next(id, wait)
		if m.Type == protocol.MsgError && m.Code == "limit_reached" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if m.Type != protocol.MsgStarted {
			r.t.Fatalf("a run after the abuse: %+v", m)
		}
		out, _, _ := w.until(id, protocol.MsgREPLReady, wait)
		if out != "still fine\n" {
			r.t.Fatalf("a run after the abuse printed %q", out)
		}
		w.send(map[string]any{"type": "stop", "id": id})
		w.until(id, protocol.MsgExit, wait)
		return
	}
}

// regID is the registry id of owner's only process, waiting for it to be
// admitted.
func (r *rig) regID(owner string) string {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if ps := r.reg.ByOwner(owner); len(ps) == 1 && ps[0].PID != 0 {
			return ps[0].ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("%s has no single started process", owner)
	return ""
}

// cgroupDirs are the cgroup directories of registry id, in every hierarchy
// (v1 controllers, the hybrid v2 tree, or a pure v2 root).
func cgroupDirs(id string) []string {
	base := "pythonide-webtest-" + strconv.Itoa(os.Getpid()) + "-*"
	var dirs []string
	// <hierarchy>/<the server's cgroup>/<--cgroup-name>/<instance>/<id>
	for _, pat := range []string{
		filepath.Join("/sys/fs/cgroup", "*", base, "i*", id),
		filepath.Join("/sys/fs/cgroup", base, "i*", id),
	} {
		m, _ := filepath.Glob(pat)
		dirs = append(dirs, m...)
	}
	return dirs
}

// pidsCurrent reads pids.current of id's cgroup (-1 if none is readable).
func pidsCurrent(id string) int {
	for _, d := range cgroupDirs(id) {
		if b, err := os.ReadFile(filepath.Join(d, "pids.current")); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return n
			}
		}
	}
	return -1
}

// procKey names a process across pid reuse: its pid and its start time.
type procKey struct {
	pid   int
	start string
}

// cgroupProcs lists the processes in id's cgroups now.
func cgroupProcs(id string) map[procKey]bool {
	out := map[procKey]bool{}
	for _, d := range cgroupDirs(id) {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if st := procStart(pid); st != "" {
				out[procKey{pid, st}] = true
			}
		}
	}
	return out
}

// procStart is field 22 of /proc/<pid>/stat, "" if the process is gone.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // fields from 3 on: 22 is at index 19
}

// procState is the one-letter state of pid ("R", "S", "Z"…), "" if gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// healthzTimes measures n GET /healthz round trips.
func (r *rig) healthzTimes(c *client, n int) []time.Duration {
	r.t.Helper()
	var out []time.Duration
	for range n {
		start := time.Now()
		if res := c.do("GET", "/healthz", nil, nil); res.status != http.StatusOK {
			r.t.Fatalf("/healthz during abuse: %d", res.status)
		}
		out = append(out, time.Since(start))
		time.Sleep(50 * time.Millisecond)
	}
	return out
}

// rawWS opens a WebSocket for c that nobody reads: a browser tab that froze.
func (c *client) rawWS() *websocket.Conn {
	c.r.t.Helper()
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(c.r.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: c.http, HTTPHeader: http.Header{"Origin": {c.r.srv.URL}}})
	if err != nil {
		c.r.t.Fatalf("websocket dial: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	c.r.t.Cleanup(func() { conn.CloseNow() })
	return conn
}
