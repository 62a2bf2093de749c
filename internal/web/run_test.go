package web

import (
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/runner"
)

const wait = 20 * time.Second // generous: a loaded 2-core CI machine

func TestRunHelloThenREPLKeepsVariables(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	p := alice.program("hello.py", "x = 21\nprint('hello', x)\n")
	w.send(map[string]any{"type": "run", "id": "r1", "path": p})
	if m := w.next("r1", wait); m.Type != protocol.MsgStarted || m.Kind != "script" {
		t.Fatalf("first message %+v", m)
	}
	out, _, _ := w.until("r1", protocol.MsgREPLReady, wait)
	if out != "hello 21\n" {
		t.Fatalf("stdout %q", out)
	}
	w.send(map[string]any{"type": "stdin", "id": "r1", "data": "x * 2\n"})
	if out, _, _ := w.until("r1", protocol.MsgREPLReady, wait); out != "42\n" {
		t.Fatalf("REPL echo %q", out)
	}
	w.send(map[string]any{"type": "stdin", "id": "r1", "data": "for i in range(3):\n    print(i)\n\n"})
	out = ""
	for !strings.Contains(out, "2\n") {
		o, _, _ := w.until("r1", protocol.MsgREPLReady, wait)
		out += o
	}
	if out != "0\n1\n2\n" {
		t.Fatalf("block output %q", out)
	}
	w.send(map[string]any{"type": "stdin", "id": "r1", "data": "exit()"})
	_, _, m := w.until("r1", protocol.MsgExit, wait)
	if m.Reason != "exited" || m.Code != float64(0) || m.Message == "" {
		t.Fatalf("exit %+v", m)
	}
}

func TestInputOrderingAndRoundTrip(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	p := alice.program("ask.py", "print('before', end='')\nname = input('name? ')\nprint('hi', name)\nimport sys; print('oops', file=sys.stderr)\n")
	w.send(map[string]any{"type": "run", "id": "a", "path": p})
	out, _, m := w.until("a", protocol.MsgInputRequest, wait)
	if out != "before" || m.Prompt == nil || *m.Prompt != "name? " {
		t.Fatalf("before input: %q, prompt %v", out, m.Prompt)
	}
	w.send(map[string]any{"type": "stdin", "id": "a", "data": "bob\n"})
	out, errOut, _ := w.until("a", protocol.MsgREPLReady, wait)
	if out != "hi bob\n" || errOut != "oops\n" {
		t.Fatalf("after input: %q %q", out, errOut)
	}
}

func TestEmptyREPLAndTraceback(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	w.send(map[string]any{"type": "repl", "id": "e"})
	started := w.next("e", wait)
	if started.Type != protocol.MsgStarted || started.Kind != "repl" {
		t.Fatalf("%+v", started)
	}
	// The started message says where the program sees the home, so the
	// browser can link a traceback's files.
	home := r.ws.HomePath("alice")
	if r.runner.Layers().Namespaces {
		home = runner.HomeAt
	}
	if len(started.Paths) == 0 || started.Paths[0] != (protocol.PathMap{At: home, Path: "Local/alice"}) {
		t.Errorf("started paths %+v, want the home %q first", started.Paths, home)
	}
	w.until("e", protocol.MsgREPLReady, wait)
	w.send(map[string]any{"type": "stdin", "id": "e", "data": "import os; print(os.getcwd())"})
	if out, _, _ := w.until("e", protocol.MsgREPLReady, wait); out != home+"\n" {
		t.Fatalf("cwd: %q, want %q", out, home)
	}

	p := alice.program("boom.py", "def f():\n    return 1/0\nf()\n")
	w.send(map[string]any{"type": "run", "id": "b", "path": p})
	_, errOut, m := w.until("b", protocol.MsgExit, wait)
	if m.Reason != "error" || !strings.Contains(errOut, "ZeroDivisionError") || !strings.Contains(errOut, `File "`+home+`/boom.py", line 2`) || strings.Contains(errOut, "pythonide_driver") {
		t.Fatalf("traceback %q, exit %+v", errOut, m)
	}
}

func TestFigureArrives(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	p := alice.program("plot.py", "import matplotlib.pyplot as plt\nplt.plot([1,2,3])\nplt.show()\nprint('done')\n")
	w.send(map[string]any{"type": "run", "id": "f", "path": p})
	for {
		m := w.next("f", 60*time.Second)
		switch m.Type {
		case protocol.MsgFigure:
			png, err := base64.StdEncoding.DecodeString(m.Data)
			if err != nil || m.Mime != "image/png" || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
				t.Fatalf("figure: mime %q, %d bytes, %v", m.Mime, len(png), err)
			}
			return
		case protocol.MsgStderr:
			if strings.Contains(m.Data, "No module named 'matplotlib'") {
				t.Skip("matplotlib is not installed for /usr/bin/python3 (Debian package python3-matplotlib)")
			}
		case protocol.MsgExit, protocol.MsgREPLReady:
			t.Fatalf("no figure before %+v", m)
		}
	}
}

// TestStopAlwaysWorksWithinASecond stops a program busy in a loop, waiting
// in input(), sleeping, and a busy loop typed into the REPL.
func TestStopAlwaysWorksWithinASecond(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	cases := map[string]string{
		"busy.py":  "print('go')\nwhile True: pass\n",
		"input.py": "print('go')\ninput('?')\n",
		"sleep.py": "print('go')\nimport time; time.sleep(600)\n",
		"fork.py":  "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n    os._exit(0)\nprint('go')\ntime.sleep(600)\n",
	}
	for name, src := range cases {
		p := alice.program(name, src)
		w.send(map[string]any{"type": "run", "id": name, "path": p})
		w.until(name, protocol.MsgStdout, wait)
		start := time.Now()
		w.send(map[string]any{"type": "stop", "id": name})
		_, _, m := w.until(name, protocol.MsgExit, wait)
		if took := time.Since(start); took > 2*time.Second { // spec: 1 s; slack for a loaded CI machine
			t.Errorf("%s: stop took %v", name, took)
		}
		if m.Reason != "stopped" {
			t.Errorf("%s: reason %q", name, m.Reason)
		}
	}
	// while True: pass typed into the REPL.
	w.send(map[string]any{"type": "repl", "id": "r"})
	w.until("r", protocol.MsgREPLReady, wait)
	w.send(map[string]any{"type": "stdin", "id": "r", "data": "while True: pass\n\n"})
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	w.send(map[string]any{"type": "stop", "id": "r"})
	if _, _, m := w.until("r", protocol.MsgExit, wait); m.Reason != "stopped" || time.Since(start) > 2*time.Second {
		t.Errorf("REPL busy loop: %+v after %v", m, time.Since(start))
	}
}

func TestRunningAgainReplacesTheOldRun(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	p := alice.program("loop.py", "import time\nprint('up')\ntime.sleep(600)\n")
	w.send(map[string]any{"type": "run", "id": "one", "path": p})
	w.until("one", protocol.MsgStdout, wait)
	w.send(map[string]any{"type": "run", "id": "two", "path": p})
	_, _, m := w.until("one", protocol.MsgExit, wait)
	if m.Reason != "stopped" || !strings.Contains(m.Message, "again") {
		t.Fatalf("old run: %+v", m)
	}
	w.until("two", protocol.MsgStdout, wait)
	if n := len(r.reg.ByOwner("alice")); n != 1 {
		t.Fatalf("alice holds %d processes after a replacement", n)
	}
}

func TestProtocolErrors(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	for _, tc := range []struct {
		msg   map[string]any
		code  string
		retry string // "": not said
	}{
		{map[string]any{"type": "dance", "id": "x"}, "bad_request", ""},
		{map[string]any{"type": "run", "id": "", "path": "Local/alice/welcome.py"}, "bad_request", ""},
		// A file that does not exist, or cannot be run, stays so.
		{map[string]any{"type": "run", "id": "x", "path": "Local/bob/secret.py"}, "not_found", "false"},
		{map[string]any{"type": "run", "id": "x", "path": "Local/alice/none.py"}, "not_found", "false"},
		{map[string]any{"type": "run", "id": "x", "path": "Local/alice/notes.txt"}, "bad_request", "false"},
		{map[string]any{"type": "stdin", "id": "nope", "data": "1"}, "not_found", ""},
		{map[string]any{"type": "stop", "id": "nope"}, "not_found", ""},
		{map[string]any{"type": "attach", "id": "nope"}, "not_found", ""},
	} {
		w.send(tc.msg)
		id, _ := tc.msg["id"].(string)
		m := w.next(id, wait)
		retry := ""
		if m.Retry != nil {
			retry = fmt.Sprint(*m.Retry)
		}
		if m.Type != protocol.MsgError || m.Code != tc.code || m.Message == "" || retry != tc.retry || m.Ref != "" {
			t.Errorf("%v: got %+v (retry %q)", tc.msg, m, retry)
		}
	}
	// Not JSON at all.
	w.c.Write(t.Context(), 1, []byte("{{{"))
	if m := w.next("", wait); m.Type != protocol.MsgError || m.Code != "bad_request" {
		t.Errorf("garbage: %+v", m)
	}
}

// A start that fails on the server's side for a cause that lasts (here
// Alice's home is a file, so it cannot be prepared) tells her it is not her
// program's fault, that trying again will not help, and gives the
// reference the server logged: on the wire as ref and retry too.
func TestServerSideStartFailureSaysTryingAgainWillNotHelp(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	home := r.ws.HomePath("alice")
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(home, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.send(map[string]any{"type": "repl", "id": "r"})
	m := w.next("r", wait)
	if m.Type != protocol.MsgError || m.Code != "unavailable" || m.Retry == nil || *m.Retry ||
		!regexp.MustCompile(`^R-[0-9a-f]{6}$`).MatchString(m.Ref) ||
		!strings.Contains(m.Message, "a problem on the server, not in your program") ||
		!strings.HasSuffix(m.Message, "Trying again will not help: tell your teacher, and give them the reference "+m.Ref+".") {
		t.Fatalf("a REPL in a home that is a file: %+v", m)
	}
	plainWords(t, "a start that failed on the server", m.Message)
}

func TestReadyzReportsConfinement(t *testing.T) {
	r, _, _, _ := newClassRunRig(t, nil)
	res := r.anon().do("GET", "/readyz", nil, nil)
	var body struct {
		Status      string
		Confinement map[string]any
	}
	res.json(t, &body)
	if res.status != 200 || body.Status != "ready" || body.Confinement == nil {
		t.Fatalf("readyz: %d %s", res.status, res.body)
	}
	for _, k := range []string{"cgroup", "namespaces", "landlock", "seccomp", "rlimits", "uid_drop"} {
		if _, ok := body.Confinement[k]; !ok {
			t.Errorf("confinement lacks %q: %s", k, res.body)
		}
	}
}

// TestBurstOfRunsKeepsOneSandboxPerFile clicks Run on one file many times in
// a burst: each run replaces the last, and replaced runs stop counting
// against the limits, so without care every click would start a sandbox.
func TestBurstOfRunsKeepsOneSandboxPerFile(t *testing.T) {
	r, _, alice, _ := newClassRunRig(t, nil)
	w := alice.ws()
	p := alice.program("loop.py", "import time\nprint('up', flush=True)\ntime.sleep(600)\n")
	const clicks = 12 // under the 16 starts a connection may have pending
	for i := 0; i < clicks; i++ {
		w.send(map[string]any{"type": "run", "id": fmt.Sprint("c", i), "path": p})
	}
	peak := 0
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		started := 0
		for _, pr := range r.reg.ByOwner("alice") {
			if pr.PID != 0 {
				started++
			}
		}
		peak = max(peak, started)
		if last, ok := lastStarted(r, "alice"); ok && last {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if peak > 2 {
		t.Fatalf("%d sandboxes of one file were alive at once (one running, one being stopped at most)", peak)
	}
	w.until(fmt.Sprint("c", clicks-1), protocol.MsgStdout, wait)
	if n := len(r.reg.ByOwner("alice")); n != 1 {
		t.Fatalf("after the burst alice holds %d processes", n)
	}
}

// lastStarted reports whether owner holds exactly one process and it runs.
func lastStarted(r *rig, owner string) (bool, bool) {
	ps := r.reg.ByOwner(owner)
	return len(ps) == 1 && ps[0].PID != 0, true
}
