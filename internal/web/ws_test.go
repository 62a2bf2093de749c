package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/protocol"
)

// wsGoroutines counts the server's goroutines serving WebSockets.
func wsGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("internal/web.(*wsConn).")) || bytes.Contains(g, []byte("internal/web.(*Server).websocket")) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(wait); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", wait, what)
		}
	}
}

// TestIdleWebSocketCostsTwoGoroutines: each goroutine parked per browser
// costs its stack (8 KiB or more); a 300-student class had four per
// browser, 15 MiB of stacks. Now an idle browser has its reader and its
// writer; the start queue and the keep-alive take one only while they work.
func TestIdleWebSocketCostsTwoGoroutines(t *testing.T) {
	r, _, alice, bob := newClassRunRig(t, nil)
	r.server.wsPing, r.server.wsRecheck = 50*time.Millisecond, 50*time.Millisecond
	before := wsGoroutines()
	const n = 10
	conns := make([]*wsc, 0, n)
	for i := range n {
		c := alice
		if i%2 == 1 {
			c = bob
		}
		conns = append(conns, c.ws())
	}
	waitFor(t, "the connections", func() bool { return r.server.wsOpen.Load() == n })
	time.Sleep(300 * time.Millisecond) // several pings and session checks
	// A ping in flight has a goroutine for a moment: wait for a quiet one.
	for deadline := time.Now().Add(wait); wsGoroutines()-before > 2*n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle WebSockets", wsGoroutines()-before, n)
		}
	}
	// Starts are still served, in order, by a goroutine that comes and goes.
	w := conns[0]
	w.send(map[string]any{"type": "run", "id": "a", "path": alice.program("a.py", "print('a')\n")})
	w.send(map[string]any{"type": "run", "id": "b", "path": alice.program("hi.py", "print('hi')\n")})
	out := map[string]string{}
	for ready := 0; ready < 2; {
		select {
		case m := <-w.msgs:
			switch m.Type {
			case protocol.MsgStdout:
				out[m.ID] += m.Data
			case protocol.MsgREPLReady:
				ready++
			case protocol.MsgError, protocol.MsgExit:
				t.Fatalf("%+v", m)
			}
		case <-time.After(wait):
			t.Fatalf("the runs did not finish: %v", out)
		}
	}
	if out["a"] != "a\n" || out["b"] != "hi\n" {
		t.Fatalf("printed %v", out)
	}
	waitFor(t, "the start goroutine to end", func() bool { return wsGoroutines()-before <= 2*n })
	// And the connections answered their pings all along.
	for _, c := range conns {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				t.Fatal("a WebSocket closed while idle")
			}
		default:
		}
	}
}

// TestSessionRecheckEndsWebSocket: the timer that re-validates the session
// keeps re-arming, so a logout long after the connection opened still ends
// it.
func TestSessionRecheckEndsWebSocket(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	r.server.wsRecheck = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: alice.http, HTTPHeader: http.Header{"Origin": {r.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	waitFor(t, "the connection", func() bool { return r.server.wsOpen.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // past several re-checks
	if res := alice.do("POST", "/api/logout", nil, nil); res.status != 204 {
		t.Fatalf("logout: %d", res.status)
	}
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4401 || !strings.Contains(ce.Reason, "log in") {
			t.Fatalf("after logout the socket ended with %v", err)
		}
		return
	}
}
