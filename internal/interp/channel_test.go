package interp

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nothing a program writes through sys.stdout or sys.stderr, text or bytes,
// can end a frame early, forge an event or break the stream.
func TestOutputCannotForgeEvents(t *testing.T) {
	s := startScript(t, `import sys
print('{"t":"repl_ready","prompt":">>> "}')
print('"}\n{"t":"figure","mime":"image/png","d":"AAAA"}', file=sys.stderr)
print("nul\x00byte", "\u2028sep\u2029", "\x1b[31mred", "snowman \u2603 emoji \U0001F600")
sys.stdout.buffer.write(b'\xff\xfe\n{"t":"input","prompt":"x"}\n\xc3')
sys.stdout.buffer.write(b'\xa9 split\n')
sys.stdout.flush()
sys.stderr.buffer.write(b'\x80\n')
print("x" * 100000)
print("\u00e9" * 30000)
`)
	out, _ := s.until(TypeREPLReady)
	want := `{"t":"repl_ready","prompt":">>> "}` + "\n" +
		"nul\x00byte \u2028sep\u2029 \x1b[31mred snowman \u2603 emoji \U0001F600\n" +
		"\ufffd\ufffd\n" + `{"t":"input","prompt":"x"}` + "\n" + "\u00e9 split\n" + // a character split across two writes is joined
		strings.Repeat("x", 100000) + "\n" +
		strings.Repeat("\u00e9", 30000) + "\n"
	if got := text(out, TypeStdout); got != want {
		t.Errorf("stdout differs (len %d, want %d): %.300q", len(got), len(want), got)
	}
	if got, want := text(out, TypeStderr), "\"}\n"+`{"t":"figure","mime":"image/png","d":"AAAA"}`+"\n\ufffd\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	for _, ev := range out {
		if ev.Type != TypeStdout && ev.Type != TypeStderr {
			t.Errorf("forged event %q", ev)
		}
	}
}

// Output frames fit in one atomic pipe write, so threads and forked children
// printing at the same time never tear one.
func TestConcurrentWritersKeepFramesWhole(t *testing.T) {
	s := startScript(t, `import os, sys, threading
line = "y" * 5000
def spam():
    for _ in range(200):
        print(line)
threads = [threading.Thread(target=spam) for _ in range(3)]
for th in threads: th.start()
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        spam()
        sys.stdout.flush()
        os._exit(0)
    children.append(pid)
for th in threads: th.join()
for pid in children: os.waitpid(pid, 0)
print("end")
`)
	out, _ := s.until(TypeREPLReady) // s.next fails the test on any torn frame
	got := text(out, TypeStdout)
	if n := strings.Count(got, "y"); n != 6*200*5000 {
		t.Errorf("got %d y's, want %d", n, 6*200*5000)
	}
	if !strings.HasSuffix(got, "end\n") {
		t.Errorf("output does not end with the last print")
	}
}

// Programs the student starts do not inherit the channel.
func TestChildProcessesGetNoChannel(t *testing.T) {
	s := startScript(t, `import subprocess
r = subprocess.run(["/usr/bin/python3", "-c", "import os; os.fstat(3)"], close_fds=False, capture_output=True)
print(r.returncode, b"Bad file descriptor" in r.stderr)
`)
	out, _ := s.until(TypeREPLReady)
	if got := text(out, TypeStdout); got != "1 True\n" {
		t.Errorf("got %q (stderr %q), want the child to find no fd 3", got, text(out, TypeStderr))
	}
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

func TestFigureArrivesAsPNG(t *testing.T) {
	needPython(t)
	if out, err := exec.Command(python, "-I", "-c", "import matplotlib").CombinedOutput(); err != nil {
		t.Skipf("matplotlib is not installed for %s (Debian: python3-matplotlib): %s", python, out)
	}
	s := startScript(t, `import matplotlib.pyplot as plt
plt.plot([1, 4, 9])
plt.savefig("saved.png")
plt.figure()
plt.bar(["a", "b"], [3, 5])
print("before show")
plt.show()
print("open figures:", plt.get_fignums())
`)
	before, fig := s.until(TypeFigure)
	if got := text(before, TypeStdout); got != "before show\n" {
		t.Errorf("before the figure: %q (stderr %q)", got, text(before, TypeStderr))
	}
	for i, ev := range []Event{fig, s.next()} {
		if ev.Type != TypeFigure || ev.Mime != "image/png" {
			t.Fatalf("event %d: %q, want a PNG figure", i, ev)
		}
		png, err := base64.StdEncoding.DecodeString(ev.Data)
		if err != nil || !bytes.HasPrefix(png, pngSignature) {
			t.Errorf("figure %d: not a base64 PNG (%v, starts %q)", i, err, png[:min(len(png), 8)])
		}
	}
	after, _ := s.until(TypeREPLReady)
	if got := text(after, TypeStdout); got != "open figures: []\n" {
		t.Errorf("after show: %q (stderr %q)", got, text(after, TypeStderr))
	}
	saved, err := os.ReadFile(filepath.Join(s.cmd.Dir, "saved.png"))
	if err != nil || !bytes.HasPrefix(saved, pngSignature) {
		t.Errorf("savefig: %v, starts %q", err, saved[:min(len(saved), 8)])
	}
}

// When the server stops reading events, a program that keeps printing ends
// (status 120) instead of spinning on a dead pipe.
func TestDriverEndsWhenEventsAreClosed(t *testing.T) {
	needPython(t)
	driver, err := Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "main.py")
	if err := os.WriteFile(script, []byte("while True:\n    print('spam')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	cmd := exec.Command(python, Args(driver, script)...)
	cmd.Env = Env()
	cmd.ExtraFiles = []*os.File{evW, inR}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	evW.Close()
	inR.Close()
	if _, err := NewReader(evR, 0).Next(); err != nil { // it is running and printing
		t.Fatal(err)
	}
	evR.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := cmd.ProcessState.ExitCode(); code != 120 {
			t.Errorf("exit %d (%v), want 120", code, err)
		}
	case <-time.After(eventTimeout):
		cmd.Process.Kill()
		t.Fatal("the driver kept running with nobody reading its events")
	}
}
