package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/protocol"
)

// WebSocket attacks (issue 7, part 2): cross-site WebSocket hijacking,
// malformed frames written by hand on a raw TCP connection, floods of
// requests, and markup in program output. Oversized messages and the
// message rate limit are in limits_test.go.

// atkDial tries a WebSocket upgrade for c with the given Origin ("" sends
// none) and more headers as name, value pairs, and returns the HTTP status
// of the answer.
func atkDial(t *testing.T, c *client, origin string, headers ...string) int {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		hdr.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.r.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: c.http, HTTPHeader: hdr})
	if err == nil {
		conn.Close(websocket.StatusNormalClosure, "")
		return http.StatusSwitchingProtocols
	}
	if res == nil {
		t.Fatalf("websocket dial from %q: %v", origin, err)
	}
	return res.StatusCode
}

func TestAttackCrossSiteWebSocket(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.PublicOrigins = []string{"https://ide.school.example"} })
	otherScheme := strings.Replace(r.srv.URL, "http://", "https://", 1)
	for _, o := range []string{"https://evil.example", "null", "http://127.0.0.1:1", r.srv.URL + ".evil.example", "http://evil.example/" + r.srv.URL, "http://[::1",
		otherScheme, "ws://" + strings.TrimPrefix(r.srv.URL, "http://"), r.srv.URL + "/path", "http://ide.school.example", "https://ide.school.example:8443"} {
		if code := atkDial(t, alice, o); code != http.StatusForbidden {
			t.Errorf("upgrade from Origin %q: %d, want 403", o, code)
		}
	}
	for _, o := range []string{r.srv.URL, r.srv.URL + "/", "", "https://ide.school.example", "https://IDE.school.example:443"} {
		if code := atkDial(t, alice, o); code != http.StatusSwitchingProtocols {
			t.Errorf("upgrade from Origin %q: %d, want 101", o, code)
		}
	}
	if code := atkDial(t, r.anon(), r.srv.URL); code != http.StatusUnauthorized {
		t.Errorf("upgrade without a session: %d, want 401", code)
	}
	if code := atkDial(t, r.withToken("forged"), r.srv.URL); code != http.StatusUnauthorized {
		t.Errorf("upgrade with a forged session: %d, want 401", code)
	}
}

// Behind a TLS-terminating balancer the site is https: an http:// page of
// the same host is another origin and is refused.
func TestWebSocketOriginComparesTheScheme(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8", "::1/128"} })
	host := strings.TrimPrefix(r.srv.URL, "http://")
	if code := atkDial(t, alice, "http://"+host, "X-Forwarded-Proto", "https"); code != http.StatusForbidden {
		t.Errorf("http:// origin for an https:// site: %d, want 403", code)
	}
	if code := atkDial(t, alice, "https://"+host, "X-Forwarded-Proto", "https"); code != http.StatusSwitchingProtocols {
		t.Errorf("https:// origin for the https:// site: %d, want 101", code)
	}
	if code := atkDial(t, alice, "https://"+host); code != http.StatusForbidden {
		t.Errorf("https:// origin for the plain http:// site: %d, want 403", code)
	}
}

// atkUpgrade performs the WebSocket handshake by hand for token and hands
// back the raw connection, to write frames no library would.
func atkUpgrade(t *testing.T, r *rig, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	addr := r.srv.Listener.Addr().String()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Origin: http://" + addr + "\r\nCookie: " + CookieName + "=" + token + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(wait))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("raw upgrade: %d", res.StatusCode)
	}
	return conn, br
}

// masked is a client frame header byte b0 with a zero mask (payload sent
// as is) and a short payload.
func masked(b0 byte, payload []byte) []byte {
	return append([]byte{b0, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

func TestAttackMalformedWebSocketFrames(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	token := alice.sessionCookie()
	garbage := make([]byte, 256)
	rand.Read(garbage)
	long := bytes.Repeat([]byte{'p'}, 126)
	hugeHeader := []byte{0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"reserved data opcode", masked(0x83, nil)},
		{"reserved control opcode", masked(0x8B, nil)},
		{"unmasked client frame", []byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}},
		{"declared length 2^63-1, then more than the limit", append(hugeHeader, bytes.Repeat([]byte{'x'}, int(r.cfg.WSMaxMessageBytes)+4096)...)},
		{"declared length with the top bit", []byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 'x'}},
		{"RSV bits without an extension", masked(0xF1, []byte("{}"))},
		{"ping over 125 bytes", append([]byte{0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0}, long...)},
		{"fragmented ping", masked(0x09, nil)},
		{"continuation with nothing to continue", masked(0x80, []byte("x"))},
		{"new message inside a fragmented one", append(masked(0x01, []byte(`{"ty`)), masked(0x81, []byte(`x`))...)},
		{"close with a 1-byte payload", masked(0x88, []byte{3})},
		{"close with a reserved code", masked(0x88, []byte{0x03, 0xED})},
		{"random bytes", garbage},
	}
	t.Run("each", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel() // most wait out the 5 s close handshake
				conn, br := atkUpgrade(t, r, token)
				if _, err := conn.Write(tc.bytes); err != nil {
					t.Fatalf("write: %v", err)
				}
				// The server must end the connection: a close frame perhaps, then EOF.
				start := time.Now()
				conn.SetReadDeadline(time.Now().Add(wait))
				_, err := io.Copy(io.Discard, br)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("the connection is still open %v after the frame", time.Since(start).Round(time.Millisecond))
				}
			})
		}
	})
	// A huge declared length followed by silence is not refused from the
	// header: the server waits for the payload. The keep-alive ends it: the
	// ping cannot be answered from behind the stalled frame.
	t.Run("declared huge lengths, then silence", func(t *testing.T) {
		var conns []*bufio.Reader
		for _, h := range [][]byte{append(hugeHeader, 'x'), {0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0}} {
			conn, br := atkUpgrade(t, r, token)
			if _, err := conn.Write(h); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(wsPingEvery + wsWriteTimeout + wait))
			conns = append(conns, br)
		}
		start := time.Now()
		for _, br := range conns {
			_, err := io.Copy(io.Discard, br)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("a stalled frame holds its connection open %v", time.Since(start).Round(time.Second))
			}
		}
		t.Logf("stalled frames ended after %v", time.Since(start).Round(100*time.Millisecond))
	})
	// Every one of them is gone from the server's count, and it serves on.
	waitUntil(t, "the malformed connections to be counted closed", func() bool { return r.server.OpenWebSockets() == 0 })
	r.healthy(alice)
}

func TestAttackRequestFloodOnOneSocket(t *testing.T) {
	// Within the message rate, a student fires runs, attaches and input at
	// unknown processes in one burst. Admission holds her to her limit, the
	// rest is refused in words; a burst of refusals larger than the reply
	// queue may instead end the socket as "not reading" (policy violation).
	// Either way the server serves on and nothing is left over.
	r, prof, alice, bob := newClassRunRig(t, func(c *config.Config) { c.MaxProcsPerUser = 2 })
	raw := alice.rawWS()
	// Half the runs are of one file (each replaces the one before), half of
	// files of their own (the per-user limit refuses them).
	same := alice.program("wait.py", waiter)
	paths := make([]string, 20)
	for i := range paths {
		paths[i] = alice.program("wait"+strconv.Itoa(i)+".py", waiter)
	}
	send := func(m map[string]any) error {
		b, _ := json.Marshal(m)
		return raw.Write(context.Background(), websocket.MessageText, b)
	}
	const n = 40
	for i := range n {
		id := "f" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		p := same
		if i%2 == 1 {
			p = paths[i/2]
		}
		if send(map[string]any{"type": "run", "id": id, "path": p}) != nil ||
			send(map[string]any{"type": "attach", "id": "ghost" + id, "since": 1 << 62}) != nil ||
			send(map[string]any{"type": "stdin", "id": "ghost" + id, "data": strings.Repeat("x", 1000)}) != nil {
			break // closed under us: checked below
		}
	}
	send(map[string]any{"type": "stop", "id": "none"}) // a marker: its error comes after the others
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	refused, started, closed := 0, 0, ""
	for done := false; !done; {
		_, b, err := raw.Read(ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
				t.Fatalf("the flood ended the socket with %v, want a policy violation or no close", err)
			}
			closed = err.Error()
			break
		}
		var m protocol.Message
		json.Unmarshal(b, &m)
		switch {
		case m.Type == protocol.MsgStarted:
			started++
		case m.Type == protocol.MsgError && m.ID == "none":
			done = true
		case m.Type == protocol.MsgError:
			refused++
			plainWords(t, "refused "+m.ID, m.Message)
		}
	}
	// Replaced runs are being stopped and count against no limit; those
	// that count are within it. Watch both until they are gone and no
	// start is left in the queue (a start may wait up to seconds for her
	// warm interpreter, so the marker's answer can come first).
	peak, counted := 0, 0
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ps := r.reg.ByOwner("alice")
		n := 0
		for _, x := range ps {
			if x.ReplacedBy == "" {
				n++
			}
		}
		peak, counted = max(peak, len(ps)), max(counted, n)
		if len(ps) == n && r.server.startsQueued.Load() == 0 {
			break
		}
	}
	if counted > 2 {
		t.Errorf("alice held %d processes counting against a limit of 2", counted)
	}
	// Starts still queued when the socket closed go on starting (as they
	// would have had she stayed), so the teacher stops what is there until
	// nothing is.
	waitUntil(t, "alice's processes to end", func() bool {
		ps := r.reg.ByOwner("alice")
		for _, x := range ps {
			prof.do("DELETE", "/api/admin/processes/"+x.ID, nil, nil)
		}
		return len(ps) == 0 && r.server.startsQueued.Load() == 0
	})
	t.Logf("at most %d of alice's processes registered at once (%d counting)", peak, counted)
	r.healthy(bob)
	r.healthy(alice)
	t.Logf("%d runs asked in a burst of %d messages: %d started, %d refused; socket closed: %q", n, 3*n+1, started, refused, closed)
}

func TestAttackMarkupInProgramOutputIsEscaped(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	raw := alice.rawWS()
	p := alice.program("xss.py", "print('<script>alert(1)</script><img src=x onerror=alert(2)>')\nimport sys\nprint('</textarea><svg/onload=alert(3)>', file=sys.stderr)\ninput('<b>prompt</b>')\n")
	b, _ := json.Marshal(map[string]any{"type": "run", "id": "x", "path": p})
	if err := raw.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var all []byte
	for !bytes.Contains(all, []byte(`"input_request"`)) {
		typ, frame, err := raw.Read(ctx)
		if err != nil {
			t.Fatalf("reading: %v (so far %s)", err, all)
		}
		if typ != websocket.MessageText {
			t.Errorf("a %v frame", typ)
		}
		all = append(all, frame...)
	}
	for _, markup := range []string{"<script", "<img", "<svg", "</textarea", "<b>"} {
		if bytes.Contains(all, []byte(markup)) {
			t.Errorf("program output reaches the browser with %q unescaped: %s", markup, all)
		}
	}
	if !bytes.Contains(all, []byte(`\u003cscript\u003ealert(1)`)) {
		t.Errorf("the output is not there, escaped: %s", all)
	}
	_ = r
}
