package web

// Tests that try to break every limit of a running program, through the
// real server, WebSocket, sandbox and /usr/bin/python3. Each checks the
// exit's reason, that its message is for a student, and that the server is
// fine afterwards.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
)

func TestLimitMemory(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) {
		c.MemoryPerProc = 50 << 20
		c.MemoryTotal = 200 << 20
	})
	noCgroup := r.runner.Layers().Cgroup == "none"
	w := alice.ws()
	for _, tc := range []struct{ name, src string }{
		{"bytearray.py", "print('go', flush=True)\nx = bytearray(200*1024*1024)\nprint('survived')\n"},
		{"grow.py", "print('go', flush=True)\nl = []\nwhile True:\n    l.append(' ' * 1000000)\n"},
	} {
		alice.runSource(w, tc.name, tc.name, tc.src)
		out, errOut, m := w.finish(tc.name, wait)
		switch {
		case m.Type == runner.MsgExit && m.Reason == "memory_limit":
			if !strings.Contains(m.Message, "50 MB") {
				t.Errorf("%s: message %q does not name the 50 MB limit", tc.name, m.Message)
			}
			plainWords(t, tc.name, m.Message)
		case noCgroup && m.Type == runner.MsgExit && m.Reason == "error" && strings.Contains(errOut, "MemoryError"):
			t.Logf("%s: no memory cgroup on this machine; RLIMIT_DATA gave Python a MemoryError instead", tc.name)
		default:
			t.Errorf("%s: ended with %+v (stdout %q, stderr %q), want memory_limit", tc.name, m, out, errOut)
		}
		if strings.Contains(out, "survived") {
			t.Errorf("%s: the program went on after allocating 200 MB", tc.name)
		}
	}
	r.healthy(alice)
}

func TestLimitWallClockAndInput(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.WallClock = 2 * time.Second })
	w := alice.ws()

	alice.runSource(w, "busy", "busy.py", "print('go', flush=True)\nwhile True: pass\n")
	w.until("busy", runner.MsgStdout, wait)
	began := time.Now()
	_, _, m := w.finish("busy", wait)
	if m.Type != runner.MsgExit || m.Reason != "timeout" {
		t.Fatalf("busy loop ended with %+v, want timeout", m)
	}
	if took := time.Since(began); took < 1500*time.Millisecond {
		t.Errorf("stopped for the 2 s wall clock after only %v", took)
	}
	if !strings.Contains(m.Message, "2 seconds") {
		t.Errorf("timeout message %q does not name the limit", m.Message)
	}
	plainWords(t, "timeout", m.Message)

	// Waiting in input() for longer than the wall clock is not running.
	alice.runSource(w, "ask", "ask.py", "print('go', flush=True)\ns = input('name? ')\nprint('got', s)\n")
	w.until("ask", runner.MsgInputRequest, wait)
	time.Sleep(3 * time.Second) // longer than the wall clock, with sweeps every 100 ms
	w.send(map[string]any{"type": "stdin", "id": "ask", "data": "bob\n"})
	out, _, _ := w.until("ask", runner.MsgREPLReady, wait)
	if out != "got bob\n" {
		t.Fatalf("after a long wait in input(): %q", out)
	}
	w.send(map[string]any{"type": "stop", "id": "ask"})
	if _, _, m := w.finish("ask", wait); m.Reason != "stopped" {
		t.Errorf("the program that waited in input() ended with %+v, want stopped by its owner", m)
	}
	r.healthy(alice)
}

func TestLimitCPU(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) {
		c.CPUSeconds = 1
		c.WallClock = 60 * time.Second
	})
	w := alice.ws()
	alice.runSource(w, "busy", "busy.py", "print('go', flush=True)\nwhile True: pass\n")
	_, errOut, m := w.finish("busy", wait)
	if m.Type != runner.MsgExit || m.Reason != "cpu_limit" {
		t.Fatalf("busy loop ended with %+v (stderr %q), want cpu_limit", m, errOut)
	}
	plainWords(t, "cpu_limit", m.Message)
	r.healthy(alice)
}

func TestLimitFileSize(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil) // MaxFileBytes is 1 MiB in the run rig
	w := alice.ws()
	src := `import errno
try:
    with open('big.bin', 'wb') as f:
        f.write(b'x' * (2 * 1024 * 1024))
    print('wrote it')
except OSError as e:
    print('OSError', errno.errorcode.get(e.errno))
`
	alice.runSource(w, "big", "big.py", src)
	out, errOut, _ := w.until("big", runner.MsgREPLReady, wait)
	if strings.TrimSpace(out) != "OSError EFBIG" {
		t.Errorf("writing 2 MiB over a 1 MiB limit: stdout %q, stderr %q", out, errOut)
	}
	if fi, err := os.Stat(filepath.Join(r.ws.HomePath("alice"), "big.bin")); err == nil && fi.Size() > r.cfg.MaxFileBytes {
		t.Errorf("big.bin is %d bytes on disk, over the %d limit", fi.Size(), r.cfg.MaxFileBytes)
	}
	w.send(map[string]any{"type": "stop", "id": "big"})
	w.finish("big", wait)
	r.healthy(alice)
}

func TestLimitNoNetwork(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := tcp.Accept(); err == nil {
			accepted <- c
		}
	}()
	received := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		if n, _, err := udp.ReadFrom(buf); err == nil {
			received <- string(buf[:n])
		}
	}()
	src := fmt.Sprintf(`import socket
res = []
try:
    socket.create_connection(('127.0.0.1', %d), timeout=3)
    res.append('tcp-connected')
except OSError:
    res.append('tcp-failed')
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hello', ('127.0.0.1', %d))
    res.append('udp-sent')
except OSError:
    res.append('udp-failed')
try:
    socket.getaddrinfo('example.com', 80)
    res.append('dns-resolved')
except OSError:
    res.append('dns-failed')
print(' '.join(res))
`, tcp.Addr().(*net.TCPAddr).Port, udp.LocalAddr().(*net.UDPAddr).Port)
	w := alice.ws()
	alice.runSource(w, "net", "net.py", src)
	out, errOut, _ := w.until("net", runner.MsgREPLReady, wait)
	got := strings.TrimSpace(out)
	want := "tcp-failed udp-failed dns-failed"
	if !r.runner.Layers().Seccomp && got == "tcp-failed udp-sent dns-failed" {
		t.Logf("no seccomp layer: a UDP send succeeds inside the network namespace, but must reach nobody")
	} else if got != want {
		t.Errorf("network from a student's program: %q (stderr %q), want %q", got, errOut, want)
	}
	select {
	case c := <-accepted:
		c.Close()
		t.Error("the program's TCP connection reached the test's listener")
	case m := <-received:
		t.Errorf("the program's UDP datagram %q reached the test's listener", m)
	case <-time.After(200 * time.Millisecond):
	}
	w.send(map[string]any{"type": "stop", "id": "net"})
	w.finish("net", wait)
	r.healthy(alice)
}

func TestLimitConfinement(t *testing.T) {
	const secret = "s3cr3t-do-not-leak-7d1f"
	t.Setenv("PYTHONIDE_TEST_SECRET", secret)
	r, prof, alice, bob := newClassRunRig(t, nil)
	bob.program("secret.py", "password = '"+secret+"'\n")
	// The database file where serve keeps it, written by the real store.
	db, err := store.Open(context.Background(), r.cfg.DatabaseDSN(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	dbPath := r.cfg.DatabaseDSN()
	// A course folder with a file: readable, not writable.
	if res := prof.do("POST", "/api/files/mkdir", map[string]string{"path": "Python101"}, nil); res.status != 201 {
		t.Fatalf("mkdir: %d %s", res.status, res.body)
	}
	if res := prof.put("Python101/ex.py", "print('exercise')\n"); res.status != 200 {
		t.Fatalf("course file: %d %s", res.status, res.body)
	}
	course := filepath.Join(r.cfg.WorkspaceRoot(), "Python101")
	bobFile := filepath.Join(r.ws.HomePath("bob"), "secret.py")

	src := fmt.Sprintf(`import os
SECRET = %q
def read(p):
    try:
        with open(p, 'rb') as f:
            data = f.read()
    except OSError:
        return 'denied'
    return 'LEAKED' if SECRET.encode() in data else 'read'
def write(p):
    try:
        with open(p, 'w') as f:
            f.write('vandalised')
    except OSError:
        return 'denied'
    return 'WROTE'
print('bob', read(%q), read('../bob/secret.py'))
print('db', read(%q))
print('environ', read('/proc/%d/environ'), 'PYTHONIDE_TEST_SECRET' in os.environ)
print('course-read', read(%q))
print('course-write', write(%q), write(%q))
`, secret, bobFile, dbPath, os.Getpid(), filepath.Join(course, "ex.py"), filepath.Join(course, "ex.py"), filepath.Join(course, "new.py"))
	w := alice.ws()
	alice.runSource(w, "peek", "peek.py", src)
	out, errOut, _ := w.until("peek", runner.MsgREPLReady, wait)
	want := "bob denied denied\ndb denied\nenviron denied False\ncourse-read read\ncourse-write denied denied\n"
	if out != want {
		t.Errorf("confinement:\n got %q\nwant %q\n(stderr %q, layers %s)", out, want, errOut, r.runner.Layers())
	}
	if b, err := os.ReadFile(filepath.Join(course, "ex.py")); err != nil || string(b) != "print('exercise')\n" {
		t.Errorf("the course file on disk is now %q (%v)", b, err)
	}
	if _, err := os.Stat(filepath.Join(course, "new.py")); err == nil {
		t.Error("the program created a file in the course folder")
	}
	w.send(map[string]any{"type": "stop", "id": "peek"})
	w.finish("peek", wait)
	r.healthy(alice)
}
