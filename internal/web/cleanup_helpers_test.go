package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/protocol"
)

// The helpers here never call t.Fatal, so goroutines of a test (the
// students of the never-kill proof) can use them: they return errors.

// tryWS is client.ws without the t.Fatal.
func (c *client) tryWS() (*wsc, error) {
	hdr := http.Header{"Origin": {c.r.srv.URL}}
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(c.r.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: c.http, HTTPHeader: hdr})
	if err != nil {
		return nil, fmt.Errorf("websocket dial for %s: %w", c.name, err)
	}
	conn.SetReadLimit(16 << 20)
	w := &wsc{t: c.r.t, c: conn, msgs: make(chan protocol.Message, 4096)}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m protocol.Message
			if json.Unmarshal(b, &m) == nil {
				w.msgs <- m
			}
		}
	}()
	return w, nil
}

func (w *wsc) trySend(m map[string]any) error {
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, b)
}

// await returns id's next message of one of types; an exit or error message
// for id is always returned, whatever types says.
func (w *wsc) await(id string, timeout time.Duration, types ...string) (protocol.Message, error) {
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				return protocol.Message{}, fmt.Errorf("connection closed while waiting for %v of %q", types, id)
			}
			if m.ID != id {
				continue
			}
			if m.Type == protocol.MsgExit || m.Type == protocol.MsgError || slices.Contains(types, m.Type) {
				return m, nil
			}
		case <-deadline:
			return protocol.Message{}, fmt.Errorf("no %v of %q within %v", types, id, timeout)
		}
	}
}

// procStat is what the never-kill proof checks of a process: its state
// (field 3 of /proc/<pid>/stat) and its start time in clock ticks since
// boot (field 22), which a reused pid would not share.
type procStat struct {
	state string
	start uint64
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: fields are counted after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procStat{}, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return procStat{}, errors.New("short /proc stat")
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22
	if err != nil {
		return procStat{}, err
	}
	return procStat{state: f[0], start: start}, nil
}

// alive reports whether pid is the same live process as before: signal 0
// succeeds, the start time is unchanged, and it is not a zombie (signal 0
// succeeds on a zombie child nobody has waited for yet).
func alive(pid int, before procStat) error {
	if err := syscall.Kill(pid, 0); err != nil {
		return fmt.Errorf("signal 0: %w", err)
	}
	now, err := readProcStat(pid)
	if err != nil {
		return err
	}
	if now.start != before.start {
		return fmt.Errorf("start time changed from %d to %d: the pid was reused", before.start, now.start)
	}
	if now.state == "Z" || now.state == "X" {
		return fmt.Errorf("state %s: it died", now.state)
	}
	return nil
}

// processList is GET /api/admin/processes as generic JSON, so the test sees
// the field names on the wire.
func (c *client) processList() ([]map[string]any, int) {
	c.r.t.Helper()
	res := c.do("GET", "/api/admin/processes", nil, nil)
	if res.status != 200 {
		return nil, res.status
	}
	var body struct {
		Processes []map[string]any `json:"processes"`
	}
	res.json(c.r.t, &body)
	return body.Processes, res.status
}

// eventually polls cond every 50 ms until it holds or within passes.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decoy is a process the server did not start, left beside it for the
// cleanup service to (never) find.
type decoy struct {
	name string
	cmd  *exec.Cmd
	stat procStat
}

// startDecoys starts python processes that look like what the seed's name
// matching killed: `python3 server.py` (the server itself, as the seed ran
// it), bare sleeping python3, one in the test's (the server's) own process
// group, one running as the sandbox uid like students' programs, and one
// whose command line names the driver. Each is killed at the test's end.
func startDecoys(t *testing.T, sandboxUID int) []*decoy {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "server.py"), []byte("import time\ntime.sleep(3600)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sleep := "import time; time.sleep(3600)"
	type spec struct {
		name string
		args []string
		attr *syscall.SysProcAttr
	}
	specs := []spec{
		{"python3 server.py in its own group", []string{"python3", "server.py"}, &syscall.SysProcAttr{Setpgid: true}},
		{"/usr/bin/python3 server.py in the server's group", []string{"/usr/bin/python3", "server.py"}, nil},
		{"python3 -c sleep in its own session", []string{"/usr/bin/python3", "-c", sleep}, &syscall.SysProcAttr{Setsid: true}},
		{"python3 -c sleep in the server's group", []string{"/usr/bin/python3", "-c", sleep}, nil},
		{"python3 naming the driver", []string{"python3", "-c", sleep, "pythonide_driver.py", "Local/student0/busy.py"}, &syscall.SysProcAttr{Setpgid: true}},
	}
	if os.Geteuid() == 0 {
		specs = append(specs, spec{"python3 as the sandbox uid", []string{"python3", "-c", sleep},
			&syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: uint32(sandboxUID), Gid: uint32(sandboxUID)}}})
	}
	var out []*decoy
	for _, s := range specs {
		cmd := &exec.Cmd{Path: "/usr/bin/python3", Args: s.args, Dir: dir, SysProcAttr: s.attr}
		if s.attr != nil && s.attr.Credential != nil {
			cmd.Dir = "/" // the sandbox uid cannot enter the test's private temp folder
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("decoy %s: %v", s.name, err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		st, err := readProcStat(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("decoy %s: %v", s.name, err)
		}
		if s.attr == nil {
			if pg, _ := syscall.Getpgid(cmd.Process.Pid); pg != syscall.Getpgrp() {
				t.Fatalf("decoy %s is in group %d, the server in %d", s.name, pg, syscall.Getpgrp())
			}
		}
		out = append(out, &decoy{name: s.name, cmd: cmd, stat: st})
	}
	return out
}
