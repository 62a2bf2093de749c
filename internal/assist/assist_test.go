package assist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/workspace"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested()
	os.Exit(m.Run())
}

var rigSeq atomic.Int64

type rig struct {
	s  *Service
	ws *workspace.Workspace
	sb *sandbox.Sandbox
}

var (
	alice   = workspace.Actor{Username: "alice"}
	bob     = workspace.Actor{Username: "bob"}
	teacher = workspace.Actor{Username: "teacher", Professor: true}
)

// newRig is the service on the real sandbox (every layer this machine
// has) and the real /usr/bin/python3, over a workspace with the homes of
// alice, bob and a teacher, and a course folder.
func newRig(tb testing.TB, opts Options) *rig {
	tb.Helper()
	return newRigWith(tb, opts, false)
}

// newRigWith is newRig, with Landlock as the file layer instead of
// bubblewrap when noNamespaces is set.
func newRigWith(tb testing.TB, opts Options, noNamespaces bool) *rig {
	tb.Helper()
	if _, err := os.Stat(sandbox.DefaultPython); err != nil {
		tb.Skipf("no %s: %v", sandbox.DefaultPython, err)
	}
	if _, err := exec.LookPath("bwrap"); err != nil && os.Getenv("CI") == "" {
		tb.Skip("bubblewrap is not installed (CI installs it): the assistant is tested confined as programs are")
	}
	dir := tb.TempDir()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sb, err := sandbox.Probe(context.Background(), sandbox.Config{
		CgroupName:   "pythonide-assisttest-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(rigSeq.Add(1), 10),
		NoNamespaces: noNamespaces,
	}, log)
	if err != nil {
		tb.Skipf("no confinement layer: %v", err)
	}
	tb.Cleanup(func() { sb.Close() })
	if !sb.Remaps() && sb.Layers().UIDDrop {
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o755)
	}
	var wopts workspace.Options
	if os.Geteuid() == 0 {
		wopts.HomeUID, wopts.HomeGID = sandbox.DefaultUID, sandbox.DefaultUID
	}
	ws, err := workspace.Open(filepath.Join(dir, "ide"), wopts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close() })
	for _, u := range []string{"alice", "bob", "teacher"} {
		if err := ws.EnsureHome(u); err != nil {
			tb.Fatal(err)
		}
	}
	if err := ws.Mkdir(teacher, "Lecture Notes"); err != nil {
		tb.Fatal(err)
	}
	driverDir := filepath.Join(dir, "runtime", "driver")
	if _, err := interp.Install(driverDir); err != nil {
		tb.Fatal(err)
	}
	opts.DriverDir = driverDir
	s := New(context.Background(), sb, ws, opts, log)
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return &rig{s: s, ws: ws, sb: sb}
}

// needJedi skips when the programs' Python has no jedi (CI installs it).
func (r *rig) needJedi(tb testing.TB) {
	tb.Helper()
	if !r.s.Available() {
		if os.Getenv("CI") != "" {
			tb.Fatal("jedi is not available to the programs' Python, and CI installs python3-jedi")
		}
		tb.Skip("python3-jedi is not installed for /usr/bin/python3 (CI installs it)")
	}
}

func (r *rig) write(tb testing.TB, a workspace.Actor, p, content string) {
	tb.Helper()
	if _, err := r.ws.Write(a, p, strings.NewReader(content), ""); err != nil {
		tb.Fatal(err)
	}
}

func (r *rig) check(tb testing.TB, a workspace.Actor, p, source string) CheckResult {
	tb.Helper()
	res, err := r.s.Check(context.Background(), a, p, source)
	if err != nil {
		tb.Fatalf("Check: %v", err)
	}
	return res
}

func (r *rig) complete(tb testing.TB, a workspace.Actor, p, source string) CompleteResult {
	tb.Helper()
	// The cursor at the end of the source.
	lines := strings.Split(source, "\n")
	var res CompleteResult
	var err error
	// A completer another request (a check's prepare) is still starting
	// answers "busy" after the 2 s wait: on a loaded machine jedi's start
	// takes longer. Ask again, as the editor's next keystroke would.
	for try := 0; try < 10; try++ {
		res, err = r.s.Complete(context.Background(), a, p, source, len(lines), len([]rune(lines[len(lines)-1]))+1)
		if err != nil || !res.Skipped || !strings.Contains(res.Message, "busy") {
			break
		}
		tb.Logf("Complete %q: %s; again", source, res.Message)
	}
	if err != nil {
		tb.Fatalf("Complete: %v", err)
	}
	if res.Skipped {
		tb.Fatalf("Complete skipped: %s", res.Message)
	}
	return res
}

func names(res CompleteResult) []string {
	var out []string
	for _, c := range res.Completions {
		out = append(out, c.Name)
	}
	return out
}

func find(res CompleteResult, name string) (Completion, bool) {
	for _, c := range res.Completions {
		if c.Name == name {
			return c, true
		}
	}
	return Completion{}, false
}

func TestAssistCheckFindsPythonsError(t *testing.T) {
	r := newRig(t, Options{Checkers: 1})
	res := r.check(t, alice, "Local/alice/hw.py", "print(\"hi\"\nfor i in range(3):\n    print(i)\n")
	want := SyntaxError{Line: 1, Column: 6, EndLine: 1, EndColumn: 7, Message: "'(' was never closed"}
	if res.OK || res.Error == nil || *res.Error != want {
		t.Fatalf("check = %+v (error %+v), want %+v", res, res.Error, want)
	}
	if res := r.check(t, alice, "Local/alice/hw.py", "print(\"hi\")\nfor i in range(3):\n    print(i)\n"); !res.OK || res.Error != nil || res.Skipped {
		t.Fatalf("valid code: %+v", res)
	}
	for _, c := range []struct {
		src  string
		line int
		col  int
		msg  string
	}{
		{"x = 1\n  y = 2\n", 2, 2, "unexpected indent"},
		{"if x\n    pass\n", 1, 5, "expected ':'"},
		{"def f():\n    pass\nreturn 5\n", 3, 1, "'return' outside function"}, // the compiler's, before any line runs
		{"s = \"é\" + (1\n", 1, 11, "'(' was never closed"},                   // columns in characters
		{"a = 1\nb = \x00\n", 2, 5, "source code string cannot contain null bytes"},
	} {
		res := r.check(t, alice, "Local/alice/hw.py", c.src)
		if res.Error == nil || res.Error.Line != c.line || res.Error.Column != c.col || res.Error.Message != c.msg {
			t.Errorf("check(%q) = %+v %+v, want %d:%d %q", c.src, res, res.Error, c.line, c.col, c.msg)
		}
	}
}

func TestAssistCheckHostileFiles(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, CheckTimeout: time.Second})
	for _, c := range []struct {
		name string
		src  string
	}{
		{"200k (", strings.Repeat("(", 200_000)},
		{"unary minus nesting", strings.Repeat("-", MaxSource-1) + "1"},
		{"call chain", "f" + strings.Repeat("()", MaxSource/2-1)},
		// The parser takes some 2 s over these f-strings: past the
		// deadline, the checker is killed and replaced.
		{"slow f-string", "f\"" + strings.Repeat("{x!r:{y}}", MaxSource/10) + "\""},
	} {
		began := time.Now()
		res := r.check(t, alice, "Local/alice/bad.py", c.src)
		took := time.Since(began)
		if took > 3*time.Second {
			t.Errorf("%s: answered after %s", c.name, took)
		}
		if res.OK {
			t.Errorf("%s: ok", c.name)
		}
		t.Logf("%s: %s: %+v %+v", c.name, took.Round(time.Millisecond), res, res.Error)
		// The next request is answered normally.
		if res := r.check(t, alice, "Local/alice/ok.py", "print('fine')\n"); !res.OK {
			t.Fatalf("after %s: %+v", c.name, res)
		}
	}
	for _, c := range []struct {
		name string
		src  string
	}{
		{"2 MiB of [", strings.Repeat("[", 2<<20)},
		{"300 KiB file", strings.Repeat("x = 1\n", 300<<10/6)},
	} {
		if _, err := r.s.Check(context.Background(), alice, "Local/alice/big.py", c.src); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err %v, want ErrTooLarge", c.name, err)
		}
	}
	if res := r.check(t, alice, "Local/alice/ok.py", "print('fine')\n"); !res.OK {
		t.Fatalf("after the refusals: %+v", res)
	}
}

func TestAssistCheckTimeoutSaysSkipped(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, CheckTimeout: 300 * time.Millisecond})
	began := time.Now()
	res := r.check(t, alice, "Local/alice/slow.py", "f\""+strings.Repeat("{x!r:{y}}", MaxSource/10)+"\"")
	if !res.Skipped || res.OK || res.Error != nil || !strings.Contains(res.Message, "too long") {
		t.Fatalf("slow check = %+v", res)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("answered after %s", took)
	}
	if res := r.check(t, alice, "Local/alice/ok.py", "x = (\n"); res.Error == nil {
		t.Fatalf("next check after a kill: %+v", res)
	}
	if st := r.s.Stats(); st.Checkers != 1 {
		t.Fatalf("checkers alive %d, want 1 (replaced)", st.Checkers)
	}
}

func TestAssistCompleteStandardLibrary(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 2})
	r.needJedi(t)
	res := r.complete(t, alice, "Local/alice/main.py", "import math\nmath.")
	if !res.Available || !slices.Contains(names(res), "sqrt") || !slices.Contains(names(res), "pi") {
		t.Fatalf("math. = %v", names(res))
	}
	if c, _ := find(res, "acos"); c.Type != "function" || !strings.HasPrefix(c.Signature, "acos(") || c.Doc == "" {
		t.Errorf("math.acos = %+v", c)
	}
	if slices.ContainsFunc(names(res), func(n string) bool { return strings.HasPrefix(n, "_") }) {
		t.Errorf("private names without a _ typed: %v", names(res))
	}
	res = r.complete(t, alice, "Local/alice/main.py", "import math\nmath.sq")
	if c, ok := find(res, "sqrt"); !ok || c.Signature == "" || c.Doc == "" {
		t.Fatalf("math.sq = %+v", res.Completions)
	}
	res = r.complete(t, alice, "Local/alice/main.py", "x = 3\nprint(")
	if len(res.Signatures) == 0 || res.Signatures[0].Name != "print" || res.Signatures[0].Index == nil || *res.Signatures[0].Index != 0 ||
		len(res.Signatures[0].Params) == 0 || !strings.Contains(res.Signatures[0].Params[0], "values") {
		t.Fatalf("print( signatures = %+v", res.Signatures)
	}
	res = r.complete(t, alice, "Local/alice/main.py", "print(1, sep=")
	if len(res.Signatures) == 0 || res.Signatures[0].Index == nil || *res.Signatures[0].Index != 1 {
		t.Fatalf("print(1, sep= signatures = %+v", res.Signatures)
	}
	if len(res.Completions) > maxCompletions {
		t.Fatalf("%d completions", len(res.Completions))
	}
}

func TestAssistCompleteOwnModule(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 2})
	r.needJedi(t)
	r.write(t, alice, "Local/alice/helpers.py", "def greet(name):\n    \"\"\"Say hello to name.\"\"\"\n    return 'hi ' + name\n\nLIMIT = 3\n")
	res := r.complete(t, alice, "Local/alice/main.py", "from helpers import ")
	c, ok := find(res, "greet")
	if !ok || c.Type != "function" || c.Signature != "greet(name)" || c.Doc != "Say hello to name." {
		t.Fatalf("from helpers import = %+v", res.Completions)
	}
	res = r.complete(t, alice, "Local/alice/main.py", "import helpers\nhelpers.")
	if !slices.Contains(names(res), "greet") || !slices.Contains(names(res), "LIMIT") {
		t.Fatalf("helpers. = %v", names(res))
	}
	// A module in a subfolder is found from a file in that folder, as
	// Python finds it (the script's folder first).
	if err := r.ws.Mkdir(alice, "Local/alice/week1"); err != nil {
		t.Fatal(err)
	}
	r.write(t, alice, "Local/alice/week1/tools.py", "def double(x):\n    return 2 * x\n")
	res = r.complete(t, alice, "Local/alice/week1/hw.py", "import tools\ntools.")
	if !slices.Contains(names(res), "double") {
		t.Fatalf("tools. = %v", names(res))
	}
	// A function saved a moment ago is seen.
	r.write(t, alice, "Local/alice/helpers.py", "def greet(name):\n    return name\n\ndef farewell():\n    pass\n")
	res = r.complete(t, alice, "Local/alice/main.py", "import helpers\nhelpers.")
	if !slices.Contains(names(res), "farewell") {
		t.Fatalf("helpers. after a save = %v", names(res))
	}
	// A course folder's module, from a file in the course folder.
	r.write(t, teacher, "Lecture Notes/shapes.py", "def area(w, h):\n    return w * h\n")
	res = r.complete(t, alice, "Lecture Notes/lesson.py", "import shapes\nshapes.")
	if !slices.Contains(names(res), "area") {
		t.Fatalf("shapes. = %v", names(res))
	}
}

func TestAssistCompleteSeesOnlyTheOwnHome(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 4})
	r.needJedi(t)
	r.write(t, bob, "Local/bob/bobsecret.py", "def password():\n    return 'hunter2'\n")
	r.write(t, alice, "Local/alice/mine.py", "x = 1\n")
	// Another home's module is not found.
	res := r.complete(t, alice, "Local/alice/main.py", "import bobsecret\nbobsecret.")
	if slices.Contains(names(res), "password") {
		t.Fatalf("alice completes bob's module: %v", names(res))
	}
	res = r.complete(t, alice, "Local/alice/main.py", "import bobs")
	if slices.Contains(names(res), "bobsecret") {
		t.Fatalf("alice sees bob's module name: %v", names(res))
	}
	// Nor its files, by the neutral paths or the host's.
	home := r.ws.HomePath("alice")
	at := home
	if r.sb.Remaps() {
		at = "/home/student"
		res = r.complete(t, alice, "Local/alice/main.py", "open('/home/")
		if got := names(res); !slices.Equal(got, []string{"student/"}) {
			t.Errorf("open('/home/ = %v, want only student/", got)
		}
		res = r.complete(t, alice, "Local/alice/main.py", "open('/")
		for _, n := range names(res) {
			if n == "students/" || n == "proc/" {
				t.Errorf("open('/ lists %s: %v", n, names(res))
			}
		}
	}
	res = r.complete(t, alice, "Local/alice/main.py", "open('"+at+"/")
	if !slices.Contains(names(res), "mine.py'") || slices.Contains(names(res), "bobsecret.py'") {
		t.Errorf("open('%s/ = %v", at, names(res))
	}
	bobHome := r.ws.HomePath("bob")
	res = r.complete(t, alice, "Local/alice/main.py", "open('"+bobHome+"/")
	if slices.Contains(names(res), "bobsecret.py'") {
		t.Errorf("open('%s/ lists bob's file: %v", bobHome, names(res))
	}
	// Asking on another student's file is refused as not found.
	if _, err := r.s.Complete(context.Background(), alice, "Local/bob/bobsecret.py", "import ", 1, 8); !errors.Is(err, workspace.ErrNotFound) {
		t.Fatalf("alice on bob's file: %v", err)
	}
	// The home is read-only to the completer, and its own module's code
	// never runs: a module that would write a file when imported writes none.
	r.write(t, alice, "Local/alice/boom.py", "open('/home/student/ran', 'w').write('ran')\ndef f():\n    pass\n")
	r.complete(t, alice, "Local/alice/main.py", "import boom\nboom.")
	if _, err := os.Stat(filepath.Join(home, "ran")); err == nil {
		t.Fatal("a module of the home ran")
	}
}

func TestAssistCompleteTeacherOnStudentFile(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 2})
	r.needJedi(t)
	r.write(t, bob, "Local/bob/tools.py", "def bob_tool(a, b=2):\n    return a\n")
	r.write(t, teacher, "Local/teacher/tools.py", "def teacher_tool():\n    pass\n")
	res := r.complete(t, teacher, "Local/bob/main.py", "from tools import ")
	if !slices.Contains(names(res), "bob_tool") || slices.Contains(names(res), "teacher_tool") {
		t.Fatalf("teacher on bob's file: %v", names(res))
	}
	res = r.complete(t, teacher, "Local/teacher/main.py", "from tools import ")
	if !slices.Contains(names(res), "teacher_tool") || slices.Contains(names(res), "bob_tool") {
		t.Fatalf("teacher on their own file: %v", names(res))
	}
}

func TestAssistSupersededAndCancelled(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 2})
	r.needJedi(t)
	// A file jedi needs a while for: many functions, completed at the end.
	var big strings.Builder
	for i := range 3000 {
		big.WriteString("def f" + strconv.Itoa(i) + "(a, b):\n    return a + b\n\n")
	}
	big.WriteString("x = f1(1, 2)\nx.")
	src := big.String()
	r.complete(t, alice, "Local/alice/main.py", "import math\nmath.") // the worker is up
	first := make(chan CompleteResult, 1)
	go func() {
		res, _ := r.s.Complete(context.Background(), alice, "Local/alice/main.py", src, strings.Count(src, "\n")+1, 3)
		first <- res
	}()
	time.Sleep(50 * time.Millisecond)
	second := r.complete(t, alice, "Local/alice/main.py", "import math\nmath.sq")
	if !slices.Contains(names(second), "sqrt") {
		t.Fatalf("the newer request: %v", names(second))
	}
	if res := <-first; !res.Skipped || !strings.Contains(res.Message, "newer") {
		t.Logf("the older request was answered before the newer came: %+v", res.Message)
	}
	// A request whose browser went away returns at once; the worker drops
	// the answer and serves the next request.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := r.s.Complete(ctx, alice, "Local/alice/main.py", src+"\n", strings.Count(src, "\n")+2, 1)
	if err != nil || !res.Skipped {
		t.Logf("cancelled request: %+v %v", res, err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("a cancelled request returned after %s", took)
	}
	if res := r.complete(t, alice, "Local/alice/main.py", "import math\nmath.sq"); !slices.Contains(names(res), "sqrt") {
		t.Fatalf("after the cancel: %v", names(res))
	}
}

func TestAssistCompletersAreBounded(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 1, MinResidency: time.Nanosecond})
	r.needJedi(t)
	r.write(t, alice, "Local/alice/am.py", "def a_fn():\n    pass\n")
	r.write(t, bob, "Local/bob/bm.py", "def b_fn():\n    pass\n")
	for range 2 {
		if res := r.complete(t, alice, "Local/alice/main.py", "from am import "); !slices.Contains(names(res), "a_fn") {
			t.Fatalf("alice: %v", names(res))
		}
		if res := r.complete(t, bob, "Local/bob/main.py", "from bm import "); !slices.Contains(names(res), "b_fn") || slices.Contains(names(res), "a_fn") {
			t.Fatalf("bob: %v", names(res))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.s.Stats().Completers > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := r.s.Stats(); st.Completers > 1 {
		t.Fatalf("%d completers alive, the bound is 1", st.Completers)
	}
}

func TestAssistCompleteWithoutCompleters(t *testing.T) {
	r := newRig(t, Options{Checkers: 1})
	res, err := r.s.Complete(context.Background(), alice, "Local/alice/main.py", "import math\nmath.", 2, 6)
	if err != nil || res.Available || res.Completions == nil || res.Signatures == nil || len(res.Completions) != 0 {
		t.Fatalf("no completers: %+v %v", res, err)
	}
	if res := r.check(t, alice, "Local/alice/x.py", "x = (\n"); res.Error == nil {
		t.Fatalf("the check without completions: %+v", res)
	}
}

// Under Landlock alone (no bubblewrap) the workers see host paths, and
// still only the own home.
func TestAssistUnderLandlock(t *testing.T) {
	r := newRigWith(t, Options{Checkers: 1, Completers: 2}, true)
	if !r.sb.Layers().Landlock {
		t.Skip("no Landlock on this kernel")
	}
	if res := r.check(t, alice, "Local/alice/hw.py", "print(\"hi\"\n"); res.Error == nil || res.Error.Message != "'(' was never closed" {
		t.Fatalf("check: %+v", res)
	}
	r.needJedi(t)
	r.write(t, alice, "Local/alice/helpers.py", "def greet(name):\n    return name\n")
	r.write(t, bob, "Local/bob/bobsecret.py", "def password():\n    return 'x'\n")
	res := r.complete(t, alice, "Local/alice/main.py", "import math, helpers\nhelpers.")
	if !slices.Contains(names(res), "greet") {
		t.Fatalf("helpers. = %v", names(res))
	}
	res = r.complete(t, alice, "Local/alice/main.py", "open('"+r.ws.HomePath("bob")+"/")
	if slices.Contains(names(res), "bobsecret.py'") {
		t.Fatalf("alice lists bob's home: %v", names(res))
	}
	res = r.complete(t, alice, "Local/alice/main.py", "import bobsecret\nbobsecret.")
	if slices.Contains(names(res), "password") {
		t.Fatalf("alice completes bob's module: %v", names(res))
	}
}

// With every completer taken by a home asked a moment ago, another home's
// request is answered at once as busy rather than ending one (a full
// class would otherwise restart completers all the time).
func TestAssistCompleterKeptWhileInUse(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 1, MinResidency: time.Minute})
	r.needJedi(t)
	r.complete(t, alice, "Local/alice/main.py", "import math\nmath.")
	began := time.Now()
	res, err := r.s.Complete(context.Background(), bob, "Local/bob/main.py", "import math\nmath.", 2, 6)
	if err != nil || !res.Skipped || !strings.Contains(res.Message, "busy") {
		t.Fatalf("bob while alice's completer is fresh: %+v %v", res, err)
	}
	if took := time.Since(began); took > 500*time.Millisecond {
		t.Errorf("the busy answer took %s", took)
	}
	if res := r.complete(t, alice, "Local/alice/main.py", "import math\nmath.sq"); !slices.Contains(names(res), "sqrt") {
		t.Fatalf("alice: %v", names(res))
	}
}

// With every home's completer taken, a shared completer answers at once:
// the standard library and the file's own names, and those of the modules
// the file imports from its folder, sent with it; nothing else of any home
// (its answer says it is limited).
func TestAssistSharedCompleterWhenAllAreTaken(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 1, Shared: 1, MinResidency: time.Minute})
	r.needJedi(t)
	r.write(t, bob, "Local/bob/bobmod.py", "def b_fn():\n    pass\n")
	r.write(t, alice, "Local/alice/alicemod.py", "def a_fn():\n    pass\n")
	if res := r.complete(t, alice, "Local/alice/main.py", "from alicemod import "); res.Limited || !slices.Contains(names(res), "a_fn") {
		t.Fatalf("alice, on her home's completer: %+v", res)
	}
	res := r.complete(t, bob, "Local/bob/main.py", "import math\nmath.sq")
	if !res.Limited || !slices.Contains(names(res), "sqrt") || !strings.Contains(res.Message, "other files") {
		t.Fatalf("bob while alice holds the only home completer: %+v", res)
	}
	if res := r.complete(t, bob, "Local/bob/main.py", "def mine():\n    pass\nmi"); !slices.Contains(names(res), "mine") {
		t.Fatalf("the file's own names: %v", names(res))
	}
	if res := r.complete(t, bob, "Local/bob/main.py", "print("); len(res.Signatures) == 0 || res.Signatures[0].Name != "print" {
		t.Fatalf("print( signatures: %+v", res.Signatures)
	}
	// It reads no home, but is sent the modules the file imports from its
	// folder, read as bob reads them (where it has a private /tmp to put
	// them: bubblewrap's), and nothing else of anybody's.
	res = r.complete(t, bob, "Local/bob/main.py", "import math\nfrom bobmod import ")
	if got := slices.Contains(names(res), "b_fn"); got != r.sb.Remaps() || !res.Limited {
		t.Fatalf("bob's own module, on the shared completer (bubblewrap %t): %+v", r.sb.Remaps(), res)
	}
	if r.sb.Remaps() && !strings.Contains(res.Message, "only the modules this file imports") {
		t.Errorf("the limited answer with bob's module says %q", res.Message)
	}
	if res := r.complete(t, bob, "Local/bob/main.py", "import bobmod\nbobmod."); slices.Contains(names(res), "b_fn") != r.sb.Remaps() {
		t.Fatalf("bobmod. on the shared completer: %v", names(res))
	}
	// A module of alice's, imported by bob, is not sent: bob cannot read it.
	if res := r.complete(t, bob, "Local/bob/main.py", "from alicemod import "); slices.Contains(names(res), "a_fn") {
		t.Fatalf("bob was given alice's module: %v", names(res))
	}
	// Nor is bob's module in the teacher's answer that imports the same name after his.
	if res := r.complete(t, teacher, "Local/teacher/main.py", "from bobmod import "); !res.Limited || slices.Contains(names(res), "b_fn") {
		t.Fatalf("the teacher's file after bob's got bob's module: %+v", res)
	}
	for _, at := range []string{"/home/student/", r.ws.HomePath("alice") + "/", r.ws.HomePath("bob") + "/"} {
		res := r.complete(t, bob, "Local/bob/main.py", "open('"+at)
		for _, n := range names(res) {
			if strings.Contains(n, "mod.py") {
				t.Fatalf("open('%s lists %v", at, names(res))
			}
		}
	}
	// What one student sent is not in another's answer (the same file name,
	// one worker).
	r.complete(t, bob, "Local/bob/main.py", "def bob_private_fn():\n    pass\nbob_pr")
	if res := r.complete(t, teacher, "Local/teacher/main.py", "x = 1\nbob_pr"); !res.Limited || len(res.Completions) != 0 {
		t.Fatalf("the teacher's file after bob's, on the shared completer: %+v", res)
	}
	// Alice keeps her own completer, and her modules.
	if res := r.complete(t, alice, "Local/alice/main.py", "import alicemod\nalicemod."); res.Limited || !slices.Contains(names(res), "a_fn") {
		t.Fatalf("alice after bob: %+v", res)
	}
	if st := r.s.Stats(); st.Completers != 2 {
		t.Fatalf("completers alive: %d, want alice's and the shared one", st.Completers)
	}
}

// Under Landlock alone a shared completer has no private /tmp: it is not
// given the student's modules to write anywhere (the host's /tmp is not
// its to write), and answers as a limited completer always did.
func TestAssistSharedCompleterUnderLandlock(t *testing.T) {
	r := newRigWith(t, Options{Checkers: 1, Completers: 1, Shared: 1, MinResidency: time.Minute}, true)
	if !r.sb.Layers().Landlock || r.sb.Remaps() {
		t.Skip("no Landlock on this kernel")
	}
	r.needJedi(t)
	r.write(t, bob, "Local/bob/bobmod.py", "def b_fn():\n    pass\n")
	if res := r.complete(t, alice, "Local/alice/main.py", "import math\nmath."); res.Limited {
		t.Fatalf("alice, on her home's completer: %+v", res)
	}
	res := r.complete(t, bob, "Local/bob/main.py", "import math\nfrom bobmod import ")
	if !res.Limited || slices.Contains(names(res), "b_fn") {
		t.Fatalf("bob on the shared completer under Landlock: %+v", res)
	}
	if res := r.complete(t, bob, "Local/bob/main.py", "import math\nmath.sq"); !slices.Contains(names(res), "sqrt") {
		t.Fatalf("math.sq on the shared completer under Landlock: %v", names(res))
	}
	if _, err := os.Stat("/tmp/pythonide-companions"); err == nil {
		t.Fatal("a shared completer wrote the student's modules to the host's /tmp")
	}
}

// The modules a shared completer is sent: those the source imports that
// are files beside it, as the student reads them, within the bounds.
func TestCompanionsAreTheImportedFilesBesideIt(t *testing.T) {
	r := newRig(t, Options{Checkers: 1, Completers: 1, Shared: 1})
	r.write(t, bob, "Local/bob/helpers.py", "def h(): pass\n")
	r.write(t, bob, "Local/bob/more.py", "def m(): pass\n")
	r.write(t, bob, "Local/bob/big.py", "x = 1\n"+strings.Repeat("#", maxCompanionBytes))
	r.write(t, bob, "Local/bob/main.py", "")
	r.write(t, alice, "Local/alice/alicemod.py", "def a(): pass\n")
	src := "import os, helpers as h, big\n  from more import m\nfrom . import rel\nimport main\nimport alicemod\n# import nothing\n"
	got := r.s.companions(bob, "Local/bob/main.py", src)
	if len(got) != 2 || got["helpers"] != "def h(): pass\n" || got["more"] != "def m(): pass\n" {
		t.Fatalf("companions of bob's main.py: %v", slices.Sorted(maps.Keys(got)))
	}
	// Alice's own module, asked for from her path by bob: bob cannot read it.
	if got := r.s.companions(bob, "Local/alice/main.py", "import alicemod\n"); len(got) != 0 {
		t.Fatalf("bob was given %v of alice's", slices.Sorted(maps.Keys(got)))
	}
	// At most maxCompanions.
	var many strings.Builder
	for i := range maxCompanions + 3 {
		name := fmt.Sprintf("m%02d", i)
		r.write(t, bob, "Local/bob/"+name+".py", "pass\n")
		many.WriteString("import " + name + "\n")
	}
	if got := r.s.companions(bob, "Local/bob/main.py", many.String()); len(got) != maxCompanions {
		t.Fatalf("%d companions, want at most %d", len(got), maxCompanions)
	}
	// Only the first maxImportsLooked names are looked for in the folder.
	var system strings.Builder
	for i := range maxImportsLooked {
		fmt.Fprintf(&system, "import sysmod%02d\n", i)
	}
	if got := r.s.companions(bob, "Local/bob/main.py", system.String()+"import helpers\n"); len(got) != 0 {
		t.Fatalf("a name past the %d looked for was read: %v", maxImportsLooked, slices.Sorted(maps.Keys(got)))
	}
}
