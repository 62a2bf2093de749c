package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/runner"
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
	w := &wsc{t: c.r.t, c: conn, msgs: make(chan runner.Message, 4096)}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m runner.Message
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
func (w *wsc) await(id string, timeout time.Duration, types ...string) (runner.Message, error) {
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				return runner.Message{}, fmt.Errorf("connection closed while waiting for %v of %q", types, id)
			}
			if m.ID != id {
				continue
			}
			if m.Type == runner.MsgExit || m.Type == runner.MsgError || slices.Contains(types, m.Type) {
				return m, nil
			}
		case <-deadline:
			return runner.Message{}, fmt.Errorf("no %v of %q within %v", types, id, timeout)
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
