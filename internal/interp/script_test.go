package interp

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestHelloWorld(t *testing.T) {
	s := startScript(t, `print("hello, world")`)
	out, ready := s.until(TypeREPLReady)
	if want := []Event{{Type: TypeStdout, Data: "hello, world\n"}}; !reflect.DeepEqual(out, want) {
		t.Errorf("got %q, want %q", out, want)
	}
	if ready.Prompt != ">>> " {
		t.Errorf("prompt %q, want %q", ready.Prompt, ">>> ")
	}
	if rest, code := s.finish(); code != 0 || len(rest) != 0 {
		t.Errorf("after EOF: events %q, exit %d; want none, 0", rest, code)
	}
}

func TestStdoutStderrOrder(t *testing.T) {
	s := startScript(t, `import sys
for i in range(50):
    print("out", i)
    print("err", i, file=sys.stderr)
sys.stdout.write("a"); sys.stderr.write("b"); sys.stdout.write("c\n")
`)
	out, _ := s.until(TypeREPLReady)
	var want []Event
	for i := range 50 {
		want = append(want, Event{Type: TypeStdout, Data: "out " + strconv.Itoa(i) + "\n"}, Event{Type: TypeStderr, Data: "err " + strconv.Itoa(i) + "\n"})
	}
	want = append(want, Event{Type: TypeStdout, Data: "a"}, Event{Type: TypeStderr, Data: "b"}, Event{Type: TypeStdout, Data: "c\n"})
	if !reflect.DeepEqual(out, want) {
		t.Errorf("order lost:\n got %q\nwant %q", out, want)
	}
}

// Output printed without a newline must reach the server while the program
// is still busy, and before the input request that follows it.
func TestPartialLineIsSentAtOnce(t *testing.T) {
	s := startScript(t, `import time
print("working...", end="")
time.sleep(600)
`)
	// The program sleeps for ten minutes: an event now can only be a prompt write.
	if ev := s.next(); ev.Type != TypeStdout || ev.Data != "working..." {
		t.Fatalf("got %q, want the partial line", ev)
	}
}

func TestInputRoundTrip(t *testing.T) {
	s := startScript(t, `print("a", end="")
name = input("Your name? ")
print("hello", name + "!")
n = int(input())
print(n * 2)
`)
	before, req := s.until(TypeInput)
	if want := []Event{{Type: TypeStdout, Data: "a"}}; !reflect.DeepEqual(before, want) {
		t.Errorf("before the input request: %q, want %q", before, want)
	}
	if req.Prompt != "Your name? " {
		t.Errorf("prompt %q", req.Prompt)
	}
	s.send("Zoë")
	before, req = s.until(TypeInput)
	if got := text(before, TypeStdout); got != "hello Zoë!\n" || req.Prompt != "" {
		t.Errorf("got %q then prompt %q", got, req.Prompt)
	}
	s.send("21\r\n")
	before, _ = s.until(TypeREPLReady)
	if got := text(before, TypeStdout); got != "42\n" {
		t.Errorf("got %q, want 42", got)
	}
}

func TestInputAtEndOfInput(t *testing.T) {
	s := startScript(t, `input("? ")`)
	s.until(TypeInput)
	rest, code := s.finish()
	if errs := text(rest, TypeStderr); !strings.Contains(errs, "EOFError") || code != 1 {
		t.Errorf("stderr %q, exit %d; want EOFError, 1", errs, code)
	}
}

func TestStdinReading(t *testing.T) {
	s := startScript(t, `import sys
first = sys.stdin.readline()
for line in sys.stdin:
    print(line.upper(), end="")
print("first was", repr(first))
`)
	if _, req := s.until(TypeInput); req.Prompt != "" {
		t.Errorf("readline prompt %q, want empty", req.Prompt)
	}
	s.send("one\ntwo\nthree")
	rest, code := s.finish()
	if got, want := text(rest, TypeStdout), "TWO\nTHREE\nfirst was 'one\\n'\n"; got != want || code != 0 {
		t.Errorf("got %q exit %d, want %q exit 0", got, code, want)
	}
}

func TestTracebackShowsOnlyStudentFrames(t *testing.T) {
	tests := []struct {
		name, source string
		want         []string
	}{
		{"runtime error", "def f():\n    return 1 / 0\nf()\n", []string{
			"Traceback (most recent call last):\n", `line 3, in <module>`, `line 2, in f`, "ZeroDivisionError: division by zero"}},
		{"syntax error", "x = (\n", []string{"SyntaxError"}},
		{"name error", "print(undefined)\n", []string{"NameError"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startScript(t, tc.source)
			evs, code := s.finish()
			errs := text(evs, TypeStderr)
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			for _, leak := range []string{"pythonide", "runpy", "<frozen", "exec("} {
				if strings.Contains(errs, leak) {
					t.Errorf("stderr shows the driver (%q):\n%s", leak, errs)
				}
			}
			if !strings.Contains(errs, filepath.Join(s.cmd.Dir, "main.py")) {
				t.Errorf("stderr does not name the student's file:\n%s", errs)
			}
			for _, ev := range evs {
				if ev.Type == TypeREPLReady {
					t.Errorf("a failed script must not become a REPL")
				}
			}
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
		})
	}
}

func TestSystemExit(t *testing.T) {
	tests := []struct {
		source, stderr string
		code           int
	}{
		{"raise SystemExit(3)", "", 3},
		{"import sys; sys.exit(0)", "", 0},
		{"import sys; sys.exit()", "", 0},
		{"import sys; sys.exit('bye')", "bye\n", 1},
		{"exit(5)", "", 5},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			s := startScript(t, tc.source)
			evs, code := s.finish()
			if code != tc.code || text(evs, TypeStderr) != tc.stderr {
				t.Errorf("exit %d stderr %q, want %d %q", code, text(evs, TypeStderr), tc.code, tc.stderr)
			}
			for _, ev := range evs {
				if ev.Type == TypeREPLReady {
					t.Errorf("SystemExit must not start the REPL")
				}
			}
		})
	}
}

// The student's namespace is what `python3 main.py` gives, and nothing of the driver.
func TestScriptNamespace(t *testing.T) {
	s := startScript(t, `import sys, os
print(sorted(globals()))
print(__name__, __file__ == os.path.abspath("main.py"), sys.argv, sys.path[0] == os.getcwd())
print(sys.modules["__main__"].__dict__ is globals(), sys.dont_write_bytecode)
print(sys.stdout.isatty(), sys.stdout.encoding, sys.stdout.fileno(), sys.stderr.fileno())
`)
	out, _ := s.until(TypeREPLReady)
	want := "['__annotations__', '__builtins__', '__cached__', '__doc__', '__file__', '__loader__', '__name__', '__package__', '__spec__', 'os', 'sys']\n" +
		"__main__ True ['" + filepath.Join(s.cmd.Dir, "main.py") + "'] True\n" +
		"True True\n" +
		"False utf-8 1 2\n"
	if got := text(out, TypeStdout); got != want {
		t.Errorf("got\n%s\nwant\n%s\nstderr: %s", got, want, text(out, TypeStderr))
	}
}

// A student's module beside the script is importable, and importing it
// leaves no __pycache__ in the student's folder.
func TestImportsFromScriptFolder(t *testing.T) {
	s := startFiles(t, map[string]string{"main.py": "import helper\nprint(helper.VALUE)\n", "helper.py": "VALUE = 7\n"})
	out, _ := s.until(TypeREPLReady)
	if got := text(out, TypeStdout); got != "7\n" {
		t.Fatalf("got %q (stderr %q)", got, text(out, TypeStderr))
	}
	if matches, _ := filepath.Glob(filepath.Join(s.cmd.Dir, "__pycache__")); len(matches) != 0 {
		t.Errorf("bytecode written into the student's folder: %v", matches)
	}
}
