package interp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// startWarm starts a warm interpreter in home, as the runner's pool does,
// and waits for it to say it is loaded.
func startWarm(t *testing.T, home string) *session {
	t.Helper()
	s := startWith(t, home, WaitArgs)
	if ev := s.next(); ev.Type != TypeWarm {
		t.Fatalf("first event %q, want %q", ev, TypeWarm)
	}
	return s
}

// A warm interpreter claimed for a script behaves as one started with
// --script: the script's folder is the working directory and first on
// sys.path (a sibling module imports), argv[0] is the script, and the REPL
// that follows holds its globals.
func TestWarmInterpreterRunsTheClaimedScript(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, `week 1 "loops" é`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.py":   "import os, sys, helper\nprint(os.getcwd())\nprint(sys.argv)\nprint(helper.X)\nanswer = 42\n",
		"helper.py": "X = 'from the sibling module'\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startWarm(t, home)
	script := filepath.Join(dir, "main.py")
	s.send(Claim(script))
	out, _ := s.until(TypeREPLReady)
	want := []Event{{Type: TypeStdout, Data: dir + "\n" + "['" + script + "']\n" + "from the sibling module\n"}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %q, want %q", out, want)
	}
	s.send("answer + 1")
	if out, _ := s.until(TypeREPLReady); text(out, TypeStdout) != "43\n" {
		t.Errorf("REPL after the script: %q, want 43", out)
	}
}

func TestWarmInterpreterClaimedForAnEmptyREPL(t *testing.T) {
	home := t.TempDir()
	s := startWarm(t, home)
	s.send(Claim(""))
	if out, ready := s.until(TypeREPLReady); len(out) != 0 || ready.Prompt != ">>> " {
		t.Fatalf("before the first prompt: %q, prompt %q", out, ready.Prompt)
	}
	s.send("import os; print(os.getcwd())")
	if out, _ := s.until(TypeREPLReady); text(out, TypeStdout) != home+"\n" {
		t.Errorf("an empty REPL works in the home folder: got %q", out)
	}
}

// A warm interpreter the server lets go (its input closed) ends quietly:
// no event, no output, status 0.
func TestWarmInterpreterUnusedEndsQuietly(t *testing.T) {
	s := startWarm(t, t.TempDir())
	if rest, code := s.finish(); len(rest) != 0 || code != 0 {
		t.Errorf("events %q, exit %d; want none, 0", rest, code)
	}
}

// A script whose folder vanished before the claim fails as a missing file
// would, with the usual traceback, not with a crash of the driver.
func TestWarmInterpreterClaimedForAMissingScript(t *testing.T) {
	home := t.TempDir()
	s := startWarm(t, home)
	s.send(Claim(filepath.Join(home, "gone", "main.py")))
	rest, code := s.finish()
	if code != 1 || !strings.Contains(text(rest, TypeStderr), "FileNotFoundError") || !strings.Contains(text(rest, TypeStderr), "gone/main.py") {
		t.Errorf("exit %d, events %q", code, rest)
	}
}
