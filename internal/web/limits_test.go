package web

// Tests that try to break every limit of a running program, through the
// real server, WebSocket, sandbox and /usr/bin/python3. Each checks the
// exit's reason, that its message is for a student, and that the server is
// fine afterwards.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/protocol"
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
		case m.Type == protocol.MsgExit && m.Reason == "memory_limit":
			if !strings.Contains(m.Message, "50 MB") {
				t.Errorf("%s: message %q does not name the 50 MB limit", tc.name, m.Message)
			}
			plainWords(t, tc.name, m.Message)
		case noCgroup && m.Type == protocol.MsgExit && m.Reason == "error" && strings.Contains(errOut, "MemoryError"):
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

	began := time.Now() // before the run is asked for: the wall clock starts later
	alice.runSource(w, "busy", "busy.py", "print('go', flush=True)\nwhile True: pass\n")
	_, _, m := w.finish("busy", wait)
	if m.Type != protocol.MsgExit || m.Reason != "timeout" {
		t.Fatalf("busy loop ended with %+v, want timeout", m)
	}
	if took := time.Since(began); took < 2*time.Second {
		t.Errorf("stopped for the 2 s wall clock after only %v", took)
	}
	if !strings.Contains(m.Message, "2 seconds") {
		t.Errorf("timeout message %q does not name the limit", m.Message)
	}
	plainWords(t, "timeout", m.Message)

	// Waiting in input() for longer than the wall clock is not running.
	alice.runSource(w, "ask", "ask.py", "print('go', flush=True)\ns = input('name? ')\nprint('got', s)\n")
	w.until("ask", protocol.MsgInputRequest, wait)
	time.Sleep(3 * time.Second) // longer than the wall clock, with sweeps every 100 ms
	w.send(map[string]any{"type": "stdin", "id": "ask", "data": "bob\n"})
	out, _, _ := w.until("ask", protocol.MsgREPLReady, wait)
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
	if m.Type != protocol.MsgExit || m.Reason != "cpu_limit" {
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
	out, errOut, _ := w.until("big", protocol.MsgREPLReady, wait)
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
	out, errOut, _ := w.until("net", protocol.MsgREPLReady, wait)
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
	courseAt := course // where the program sees it
	if r.runner.Layers().Namespaces {
		courseAt = runner.CourseAt + "/Python101"
	}
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
`, secret, bobFile, dbPath, os.Getpid(), filepath.Join(courseAt, "ex.py"), filepath.Join(courseAt, "ex.py"), filepath.Join(courseAt, "new.py"))
	w := alice.ws()
	alice.runSource(w, "peek", "peek.py", src)
	out, errOut, _ := w.until("peek", protocol.MsgREPLReady, wait)
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

// TestLimitForkAndThreadBombs checks that a fork bomb and a thread bomb are
// held at MaxThreads, that the server keeps answering while they run, that
// stop ends them, and that no process of theirs is left afterwards.
func TestLimitForkAndThreadBombs(t *testing.T) {
	const maxThreads = 16
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.MaxThreads = maxThreads })
	if l := r.runner.Layers(); l.Cgroup == "none" {
		t.Skipf("no pids cgroup layer on this machine (%s): nothing but RLIMIT_NPROC holds a fork bomb", l)
	}
	w := alice.ws()
	for _, tc := range []struct{ name, src string }{
		{"fork", "import os\nprint('go', flush=True)\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"},
		{"threads", "import threading, time\nprint('go', flush=True)\nwhile True:\n    try:\n        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n    except RuntimeError:\n        pass\n"},
	} {
		alice.runSource(w, tc.name, tc.name+".py", tc.src)
		w.until(tc.name, protocol.MsgStdout, wait)
		id := r.regID("alice")

		// Watch the bomb's cgroup while /healthz is measured.
		seen := map[procKey]bool{}
		most := 0
		stopWatch := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				if n := pidsCurrent(id); n > most {
					most = n
				}
				for k := range cgroupProcs(id) {
					seen[k] = true
				}
				select {
				case <-stopWatch:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		times := r.healthzTimes(alice, 8)
		close(stopWatch)
		<-watched
		t.Logf("%s bomb: at most %d tasks in its cgroup (limit %d), %d processes seen; /healthz took %v", tc.name, most, maxThreads, len(seen), times)
		if most > maxThreads {
			t.Errorf("%s bomb: %d tasks, over the limit of %d", tc.name, most, maxThreads)
		}
		if most < maxThreads/2 {
			t.Errorf("%s bomb: only %d tasks: the bomb did not go off, so this test proves nothing", tc.name, most)
		}
		for _, d := range times {
			if d > 2*time.Second { // "promptly", with slack for a loaded 2-core machine
				t.Errorf("%s bomb: /healthz took %v", tc.name, d)
			}
		}

		w.send(map[string]any{"type": "stop", "id": tc.name})
		if _, _, m := w.finish(tc.name, wait); m.Type != protocol.MsgExit || m.Reason != "stopped" {
			t.Errorf("%s bomb: stop gave %+v", tc.name, m)
		}
		if dirs := cgroupDirs(id); len(dirs) > 0 {
			t.Errorf("%s bomb: its cgroups remain after the exit: %v", tc.name, dirs)
		}
		// A process of the bomb may linger only as a zombie (it runs
		// nothing; whoever inherited it, init here, reaps it) or for the
		// moment it takes to finish exiting: a pid namespace's init leaves
		// its cgroup first, then waits in the kernel for the namespace's
		// other processes to die.
		zombies := 0
		for k := range seen {
			for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if procStart(k.pid) != k.start || procState(k.pid) == "Z" {
					break
				}
			}
			if procStart(k.pid) != k.start {
				continue
			}
			if procState(k.pid) == "Z" {
				zombies++
				continue
			}
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", k.pid))
			t.Errorf("%s bomb: process %d is still alive after the exit: %q", tc.name, k.pid, st[:min(len(st), 200)])
		}
		if zombies > 0 {
			t.Logf("%s bomb: %d exited process(es) not yet reaped by their new parent (pid 1)", tc.name, zombies)
		}
	}
	r.healthy(alice)
}

// heapWatch samples the server's (this process's) heap until stopped and
// returns the largest growth over the baseline taken at the start.
func heapWatch() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var most uint64
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > most {
				most = ms.HeapAlloc - base
			}
			select {
			case <-done:
				result <- most
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

const heapBound = 64 << 20 // generous: the queues are bounded at a few MiB per connection

func TestLimitPrintFlood(t *testing.T) {
	for _, tc := range []struct {
		name        string
		src         string
		bytes, rate int64
		least, most int64 // output the client must have seen
	}{
		// The brief's flood: over the rate within a second.
		{"flood", "while True: print('x' * 100)\n", 32 << 20, 256 << 10, 256 << 10, 4 << 20},
		// About 2 MB/s, under the rate: the volume cap ends it.
		{"volume", "import time\nwhile True:\n    print(('x' * 99 + '\\n') * 200, end='')\n    time.sleep(0.01)\n", 4 << 20, 16 << 20, 3 << 20, 5 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.OutputBytes, c.OutputRate = tc.bytes, tc.rate })
			w := alice.ws()
			grown := heapWatch()
			alice.runSource(w, "flood", "flood.py", tc.src)
			var n int64
			var m protocol.Message
			start := time.Now()
			for m = w.next("flood", wait); m.Type != protocol.MsgExit && m.Type != protocol.MsgError; m = w.next("flood", wait) {
				n += int64(len(m.Data))
			}
			took := time.Since(start)
			g := grown()
			t.Logf("%s: %d bytes relayed in %v, heap grew by at most %.1f MiB", tc.name, n, took, float64(g)/(1<<20))
			if m.Reason != "output_limit" {
				t.Fatalf("flood ended with %+v", m)
			}
			plainWords(t, "output_limit", m.Message)
			if n < tc.least || n > tc.most {
				t.Errorf("%d bytes relayed, want %d to %d", n, tc.least, tc.most)
			}
			if g > heapBound {
				t.Errorf("the server's heap grew by %d MiB during a flood", g>>20)
			}
			r.healthy(alice)
		})
	}
}

// TestLimitSlowClientIsDropped floods a program to a WebSocket that never
// reads: the server must drop that connection, not buffer for it, and the
// program must not be slowed down by it.
func TestLimitSlowClientIsDropped(t *testing.T) {
	const volume = 16 << 20
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) {
		c.OutputBytes, c.OutputRate = volume, 1<<30
		c.WallClock = 120 * time.Second
	})
	w := alice.ws()
	frozen := alice.rawWS()
	grown := heapWatch()
	alice.runSource(w, "flood", "flood.py", "print('go', flush=True)\nwhile True: print('x' * 100)\n")
	w.until("flood", protocol.MsgStdout, wait)
	floodStart := time.Now()
	// The frozen tab takes the program's output over, and never reads it.
	if err := frozen.Write(context.Background(), websocket.MessageText, []byte(`{"type":"attach","id":"flood"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * wait)
	for r.runner.Count() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The wall clock is 120 s: ending sooner means the output budget ended
	// it, so the frozen tab did not hold the program up.
	if n := r.runner.Count(); n != 0 {
		t.Fatalf("the flood still runs after %v: a client that does not read holds it up", 2*wait)
	}
	t.Logf("flood over after %v", time.Since(floodStart))
	// The server lets go of the connection itself, not only of the program:
	// within its write timeout plus the close handshake's.
	for r.server.wsOpen.Load() > 1 && time.Since(floodStart) < wsWriteTimeout+2*wait {
		time.Sleep(50 * time.Millisecond)
	}
	if n := r.server.wsOpen.Load(); n > 1 {
		t.Errorf("%d WebSockets still open %v after a flood to a client that never reads", n, time.Since(floodStart))
	}
	t.Logf("server closed the frozen tab %v after the flood began", time.Since(floodStart))
	readStart := time.Now()
	// What the frozen tab gets when it finally reads: a part, then the close.
	var got int64
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var err error
	for {
		var b []byte
		if _, b, err = frozen.Read(ctx); err != nil {
			break
		}
		got += int64(len(b))
	}
	g := grown()
	t.Logf("read for %v", time.Since(readStart))
	t.Logf("frozen client: %.1f MiB delivered before %v; heap grew by at most %.1f MiB", float64(got)/(1<<20), err, float64(g)/(1<<20))
	// A close frame cannot overtake a frame stuck half-written in a full
	// TCP buffer, so the tab may see an abrupt end (1006) rather than 1008;
	// either way it reconnects and re-attaches.
	if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("the frozen client's connection ended with %v, want it closed by the server", err)
	}
	if got >= volume {
		t.Errorf("the frozen client got all %d bytes: the server buffered for it", got)
	}
	if g > heapBound {
		t.Errorf("the server's heap grew by %d MiB while a client did not read", g>>20)
	}
	r.healthy(alice)
}

// waiter is a program that says it is up, then echoes one line: proof that
// it was not harmed by what happened while it waited.
const waiter = "print('up', flush=True)\nline = input()\nprint('echo', line)\n"

func TestLimitAdmission(t *testing.T) {
	type run struct{ who, id string }
	for _, tc := range []struct {
		name    string
		tweak   func(*config.Config)
		running []run
		refused run
		names   string // the limit, as the refusal must say it
	}{
		{"per user", func(c *config.Config) { c.MaxProcsPerUser = 2 },
			[]run{{"alice", "a1"}, {"alice", "a2"}}, run{"alice", "a3"}, "2"},
		{"total", func(c *config.Config) { c.MaxProcsPerUser, c.MaxProcs = 2, 3 },
			[]run{{"alice", "a1"}, {"alice", "a2"}, {"bob", "b1"}}, run{"bob", "b2"}, "3 programs"},
		{"active users", func(c *config.Config) { c.MaxActiveUsers = 1 },
			[]run{{"alice", "a1"}, {"alice", "a2"}}, run{"bob", "b1"}, "1 student"},
		// The waiters hold 30 MiB each: refused whether they are charged
		// their allowance (not yet sampled) or what they use.
		{"memory total", func(c *config.Config) { c.MemoryPerProc, c.MemoryTotal, c.MaxProcsPerUser = 64<<20, 128<<20, 3 },
			[]run{{"alice", "a1"}, {"alice", "a2"}}, run{"alice", "a3"}, "128 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, alice, bob := newClassRunRig(t, tc.tweak)
			clients := map[string]*client{"alice": alice, "bob": bob}
			sockets := map[string]*wsc{"alice": alice.ws(), "bob": bob.ws()}
			for _, x := range tc.running {
				clients[x.who].runSource(sockets[x.who], x.id, x.id+".py", "held = bytearray(30 << 20)\n"+waiter)
				sockets[x.who].until(x.id, protocol.MsgInputRequest, wait)
			}
			time.Sleep(500 * time.Millisecond) // a few samples: charges are now what they use
			x := tc.refused
			clients[x.who].runSource(sockets[x.who], x.id, x.id+".py", waiter)
			m := sockets[x.who].next(x.id, wait)
			if m.Type != protocol.MsgError || m.Code != "limit_reached" {
				t.Fatalf("run over the %s limit: %+v", tc.name, m)
			}
			if !strings.Contains(m.Message, tc.names) {
				t.Errorf("refusal %q does not name the limit (%q)", m.Message, tc.names)
			}
			// The class's limits pass; the student's own once they stop
			// a program.
			if m.Retry == nil || !*m.Retry {
				t.Errorf("refusal over the %s limit: retry %v", tc.name, m.Retry)
			}
			plainWords(t, tc.name, m.Message)
			// Nothing already running was harmed.
			for _, y := range tc.running {
				w := sockets[y.who]
				w.send(map[string]any{"type": "stdin", "id": y.id, "data": "still here\n"})
				if out, _, _ := w.until(y.id, protocol.MsgREPLReady, wait); out != "echo still here\n" {
					t.Errorf("%s after the refusal: %q", y.id, out)
				}
				w.send(map[string]any{"type": "stop", "id": y.id})
				if _, _, m := w.finish(y.id, wait); m.Reason != "stopped" {
					t.Errorf("%s: %+v", y.id, m)
				}
			}
			r.healthy(clients[x.who])
		})
	}
}

func TestLimitHugeStdinClosesOnlyThatSocket(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.WSMaxMessageBytes = 64 << 10 })
	w := alice.ws()
	alice.runSource(w, "ask", "ask.py", waiter)
	w.until("ask", protocol.MsgInputRequest, wait)
	other := alice.rawWS()
	huge := fmt.Sprintf(`{"type":"stdin","id":"ask","data":%q}`, strings.Repeat("x", 128<<10))
	if err := other.Write(context.Background(), websocket.MessageText, []byte(huge)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = other.Read(ctx)
	}
	if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
		t.Errorf("after a 128 KiB message over a 64 KiB limit the socket ended with %v, want status %d", err, websocket.StatusMessageTooBig)
	}
	// The program and the other socket go on.
	w.send(map[string]any{"type": "stdin", "id": "ask", "data": "small\n"})
	if out, _, _ := w.until("ask", protocol.MsgREPLReady, wait); out != "echo small\n" {
		t.Errorf("after the huge message: %q", out)
	}
	w.send(map[string]any{"type": "stop", "id": "ask"})
	w.finish("ask", wait)
	r.healthy(alice)
}

func TestLimitMessageFloodIsRateLimited(t *testing.T) {
	const perMin = 30
	r, _, alice, bob := newClassRunRig(t, func(c *config.Config) { c.WSMessagesPerMin = perMin })
	w := alice.ws()
	for range perMin + 10 {
		w.send(map[string]any{"type": "stop", "id": "nope"})
	}
	limited := 0
	for range perMin + 10 {
		m := w.next("nope", wait)
		if m.Type != protocol.MsgError {
			t.Fatalf("answer to a stop: %+v", m)
		}
		if m.Code == "rate_limited" {
			limited++
			plainWords(t, "rate_limited", m.Message)
		}
	}
	if limited < 10 {
		t.Errorf("%d of %d messages over a limit of %d a minute were refused as rate_limited", limited, perMin+10, perMin)
	}
	r.healthy(bob) // the limit is alice's alone
}

// TestLimitForgedProtocol prints protocol look-alikes and NUL bytes on
// stdout and stderr, from Python and raw on the fds: they must arrive as
// text, and no input_request or exit may come of them. (Raw fd writes and
// the driver's events travel on different pipes, so their relative order
// is not kept: only containment is checked.)
func TestLimitForgedProtocol(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	src := `import os, sys
print('{"type":"input_request","id":"forge","prompt":"x"}')
print('{"type":"exit","id":"forge","code":0,"reason":"exited","message":"done"}')
print('{"t":"input","prompt":"fake"}\n{"t":"repl_ready","prompt":">>> "}')
sys.stdout.write('\x00\x00{"t":"input","prompt":"nul"}\n\x00')
sys.stdout.flush()
print('{"t":"input","prompt":"err"}', file=sys.stderr)
os.write(1, b'{"t":"input","prompt":"raw"}\n\x00{"type":"exit"}\n')
os.write(2, b'\x00{"t":"repl_ready","prompt":"raw2"}\n')
print('end')
`
	w := alice.ws()
	alice.runSource(w, "forge", "forge.py", src)
	// Everything up to the exit: raw output may come after repl_ready, and
	// the exit is sent only once both pipes are drained.
	var out, errOut string
	stopped := false
	for done := false; !done; {
		m := w.next("forge", wait)
		switch m.Type {
		case protocol.MsgStdout:
			out += m.Data
		case protocol.MsgStderr:
			errOut += m.Data
		case protocol.MsgStarted:
		case protocol.MsgREPLReady:
			if !stopped {
				w.send(map[string]any{"type": "stop", "id": "forge"})
				stopped = true
			}
		case protocol.MsgExit:
			if !stopped || m.Reason != "stopped" {
				t.Fatalf("printed text became an exit: %+v", m)
			}
			done = true
		default:
			t.Fatalf("printed text became a %s message: %+v", m.Type, m)
		}
	}
	for _, want := range []string{`{"type":"input_request","id":"forge","prompt":"x"}`, `"reason":"exited"`, "\x00\x00{\"t\":\"input\",\"prompt\":\"nul\"}", `{"t":"input","prompt":"raw"}`, "end"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q: %q", want, out)
		}
	}
	if !strings.Contains(errOut, `{"t":"input","prompt":"err"}`) || !strings.Contains(errOut, "\x00{\"t\":\"repl_ready\"") {
		t.Errorf("stderr: %q", errOut)
	}
	r.healthy(alice)
}

// TestLimitForgedInputEventKeepsWallClock writes a fake input event
// straight to the driver's channel (fd 3 is open in the program) and then
// busy-loops: claiming to wait for input must not stop the wall clock.
func TestLimitForgedInputEventKeepsWallClock(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.WallClock = 2 * time.Second })
	w := alice.ws()
	alice.runSource(w, "sly", "sly.py", "import os\nprint('go', flush=True)\nos.write(3, b'{\"t\":\"input\",\"prompt\":\"\"}\\n')\nwhile True: pass\n")
	_, _, m := w.finish("sly", wait)
	if m.Type != protocol.MsgExit || m.Reason != "timeout" {
		t.Errorf("a busy loop claiming to wait for input ended with %+v, want timeout", m)
	}
	r.healthy(alice)
}
