package interp

import (
	"reflect"
	"strings"
	"testing"
)

// The REPL after a script shares its globals: functions defined by the
// script see names rebound at the prompt.
func TestScriptThenREPLKeepsVariables(t *testing.T) {
	s := startScript(t, "x = 21\ndef f():\n    return x\n")
	s.until(TypeREPLReady)
	for _, step := range []struct{ line, want string }{
		{"x*2", "42\n"},
		{"x = 5", ""},
		{"f()", "5\n"},
		{"__name__", "'__main__'\n"},
		{"'%s' % 'echoed'", "'echoed'\n"},
		{"None", ""},
	} {
		s.send(step.line)
		out, ready := s.until(TypeREPLReady)
		if got := text(out, TypeStdout); got != step.want || ready.Prompt != ">>> " {
			t.Errorf("%q: got %q then prompt %q, want %q then >>>; stderr %q", step.line, got, ready.Prompt, step.want, text(out, TypeStderr))
		}
	}
}

func TestREPLMultiLineBlocks(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"for, closed by a blank line", "for i in range(3):\n    print(i)\n\n", "0\n1\n2\n"},
		{"def then call", "def sq(n):\n    return n * n\n\nsq(7)\n", "49\n"},
		{"if/else with CRLF", "if 1 > 2:\r\n    print('yes')\r\nelse:\r\n    print('no')\r\n\r\n", "no\n"},
		{"pasted without the closing blank line", "for i in range(2):\n    print(i)\nprint('done')\n", "0\n1\ndone\n"},
		{"try/except/finally", "try:\n    1/0\nexcept ZeroDivisionError:\n    print('caught')\nfinally:\n    print('finally')\n\n", "caught\nfinally\n"},
		{"decorator", "import functools\n@functools.lru_cache\ndef one():\n    return 1\n\none()\n", "1\n"},
		{"comment at column 0 inside a block", "for i in range(2):\n    x = i\n# a comment\n    print(x)\n\n", "0\n1\n"},
		{"open bracket", "xs = [\n1,\n2,\n]\nsum(xs)\n", "3\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, t.TempDir(), "")
			s.until(TypeREPLReady)
			s.send(tc.block)
			evs, code := s.finish()
			if got := text(evs, TypeStdout); got != tc.want || code != 0 {
				t.Errorf("got %q exit %d, want %q exit 0; stderr %q", got, code, tc.want, text(evs, TypeStderr))
			}
			if errs := text(evs, TypeStderr); errs != "" {
				t.Errorf("stderr %q", errs)
			}
		})
	}
}

// Each line a block feeds the console is announced with its prompt, so the
// server always knows whether the REPL is inside a block.
func TestREPLContinuationPrompts(t *testing.T) {
	s := start(t, t.TempDir(), "")
	s.until(TypeREPLReady)
	s.send("for i in range(1):")
	if _, ready := s.until(TypeREPLReady); ready.Prompt != "... " {
		t.Errorf("prompt %q inside a block, want %q", ready.Prompt, "... ")
	}
	s.send("    print('in')")
	s.until(TypeREPLReady)
	s.send("")
	out, ready := s.until(TypeREPLReady)
	if text(out, TypeStdout) != "in\n" || ready.Prompt != ">>> " {
		t.Errorf("got %q then %q", out, ready.Prompt)
	}
}

func TestREPLExit(t *testing.T) {
	tests := []struct {
		line string
		code int
	}{
		{"exit()", 0}, {"quit()", 0}, {"exit(4)", 4}, {"import sys; sys.exit(2)", 2},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			s := startScript(t, "pass")
			s.until(TypeREPLReady)
			s.send(tc.line)
			s.send("print('still running')") // must never run
			evs, code := s.finish()
			if code != tc.code || len(evs) != 0 {
				t.Errorf("exit %d events %q, want %d and none", code, evs, tc.code)
			}
		})
	}
}

func TestEmptyREPL(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, "")
	if ev := s.next(); ev.Type != TypeREPLReady || ev.Prompt != ">>> " {
		t.Fatalf("first event %q, want repl_ready >>>", ev)
	}
	s.send("import os, sys; sorted(globals())")
	out, _ := s.until(TypeREPLReady)
	want := "['__annotations__', '__builtins__', '__doc__', '__loader__', '__name__', '__package__', '__spec__', 'os', 'sys']\n"
	if got := text(out, TypeStdout); got != want {
		t.Errorf("REPL globals %q, want %q", got, want)
	}
	s.send("print(os.getcwd() == " + pyQuote(dir) + ", sys.argv, sys.path[0])")
	out, _ = s.until(TypeREPLReady)
	if got := text(out, TypeStdout); got != "True [''] \n" {
		t.Errorf("got %q", got)
	}
	s.send("1/0")
	out, _ = s.until(TypeREPLReady)
	if errs := text(out, TypeStderr); !strings.Contains(errs, "ZeroDivisionError") || strings.Contains(errs, "pythonide") || strings.Contains(errs, "code.py") {
		t.Errorf("REPL traceback %q", errs)
	}
	s.send("name = input('who? ')")
	if _, req := s.until(TypeInput); req.Prompt != "who? " {
		t.Errorf("input prompt %q", req.Prompt)
	}
	s.send("Ana")
	s.until(TypeREPLReady)
	s.send("name")
	out, _ = s.until(TypeREPLReady)
	if !reflect.DeepEqual(out, []Event{{Type: TypeStdout, Data: "'Ana'\n"}}) {
		t.Errorf("got %q", out)
	}
	if rest, code := s.finish(); code != 0 || len(rest) != 0 {
		t.Errorf("EOF: exit %d, events %q; want 0 and none", code, rest)
	}
}

// pyQuote makes a Python string literal for a path without quotes in it.
func pyQuote(s string) string { return "'" + s + "'" }
