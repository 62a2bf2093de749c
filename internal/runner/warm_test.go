package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

// newWarmRunner is the real runner with a pool of n warm interpreters.
func newWarmRunner(t *testing.T, limits registry.Limits, n int) (*Runner, *workspace.Workspace) {
	t.Helper()
	r, ws := newBenchRunner(t, limits)
	r.opts.Warm = n
	return r, ws
}

// eventually polls cond for up to 30 s (a loaded CI machine starts an
// interpreter slowly; only a failure waits that long).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 30 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *Runner) readyWarm(owner string) *warm {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pool.ready[owner]
}

// layoutOf is what owner's programs see.
func (r *Runner) layoutOf(t *testing.T, owner string) layout {
	t.Helper()
	l, err := r.layout(User{Name: owner}, "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func write(t *testing.T, ws *workspace.Workspace, owner, path, source string) {
	t.Helper()
	if err := ws.EnsureHome(owner); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Write(workspace.Actor{Username: owner}, path, strings.NewReader(source), ""); err != nil {
		t.Fatal(err)
	}
}

// collect runs until the process's exit message (or until stop says so)
// and returns the messages.
func collect(t *testing.T, sub *Subscription, w waker, stop func(protocol.Message) bool) []protocol.Message {
	t.Helper()
	var out []protocol.Message
	for m := range messages(t, sub, w) {
		out = append(out, m)
		if m.Type == protocol.MsgExit || m.Type == protocol.MsgError || (stop != nil && stop(m)) {
			break
		}
	}
	return out
}

func stdout(ms []protocol.Message) string {
	var b strings.Builder
	for _, m := range ms {
		if m.Type == protocol.MsgStdout {
			b.WriteString(m.Data)
		}
	}
	return b.String()
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// A connected student gets a warm interpreter; their run takes it (its id
// becomes the run's registry id and pid), runs in the file's folder, at
// full priority, and a new warm interpreter is prepared for the next run.
func TestRunTakesTheWarmInterpreter(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	ws.EnsureHome("ann")
	if err := ws.Mkdir(workspace.Actor{Username: "ann"}, "Local/ann/week1"); err != nil {
		t.Fatal(err)
	}
	write(t, ws, "ann", "Local/ann/week1/p.py", "import os\nprint(os.getcwd(), os.getpriority(os.PRIO_PROCESS, 0))\n")
	r.Connected(User{Name: "ann"})
	defer r.Disconnected("ann")
	eventually(t, "a warm interpreter for ann", func() bool { return r.readyWarm("ann") != nil })
	w := r.readyWarm("ann")

	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "ann"}, "run1", "Local/ann/week1/p.py", wk)
	if err != nil {
		t.Fatal(err)
	}
	ms := collect(t, sub, wk, func(m protocol.Message) bool { return m.Type == protocol.MsgREPLReady })
	want := r.layoutOf(t, "ann").inside(filepath.Join(ws.HomePath("ann"), "week1")) + " 0\n"
	if os.Geteuid() != 0 {
		want = strings.TrimSuffix(want, " 0\n") // not root: it keeps the warm niceness
	}
	if got := stdout(ms); !strings.HasPrefix(got, want) {
		t.Errorf("output %q, want %q", got, want)
	}
	p, ok := r.reg.Get(w.id)
	if !ok || p.Owner != "ann" || p.PID != w.sp.PID() {
		t.Errorf("registry holds %+v (ok %t), want the warm interpreter %s pid %d", p, ok, w.id, w.sp.PID())
	}
	eventually(t, "a fresh warm interpreter after the run took the first", func() bool {
		n := r.readyWarm("ann")
		return n != nil && n != w
	})
	r.Stop("ann", "run1")
}

// A REPL takes the warm interpreter too and starts in the home folder.
func TestREPLTakesTheWarmInterpreter(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	ws.EnsureHome("bo")
	r.Connected(User{Name: "bo"})
	defer r.Disconnected("bo")
	eventually(t, "a warm interpreter for bo", func() bool { return r.readyWarm("bo") != nil })
	w := r.readyWarm("bo")
	wk := make(waker, 1)
	sub, err := r.REPL(User{Name: "bo"}, "repl", wk)
	if err != nil {
		t.Fatal(err)
	}
	sink := messages(t, sub, wk)
	for m := range sink {
		if m.Type == protocol.MsgREPLReady {
			break
		}
	}
	if _, ok := r.reg.Get(w.id); !ok {
		t.Fatalf("the REPL did not take the warm interpreter %s", w.id)
	}
	r.Stdin("bo", "repl", "import os; print(os.getcwd())")
	var out string
	for m := range sink {
		if m.Type == protocol.MsgStdout {
			out += m.Data
		}
		if m.Type == protocol.MsgREPLReady {
			break
		}
	}
	if out != r.layoutOf(t, "bo").inside(ws.HomePath("bo"))+"\n" {
		t.Errorf("cwd %q, want the home folder", out)
	}
	r.Stop("bo", "repl")
}

// The last connection closing ends the warm interpreter (here at once),
// and everything of it goes (process and cgroup: Shutdown waits for both).
func TestWarmInterpreterEndsWithTheLastConnection(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	r.opts.WarmGrace = -1
	ws.EnsureHome("cy")
	u := User{Name: "cy"}
	r.Connected(u)
	r.Connected(u) // two tabs
	eventually(t, "a warm interpreter for cy", func() bool { return r.readyWarm("cy") != nil })
	pid := r.readyWarm("cy").sp.PID()
	r.Disconnected("cy")
	if r.readyWarm("cy") == nil || !processAlive(pid) {
		t.Fatal("closing one of two tabs ended the warm interpreter")
	}
	r.Disconnected("cy")
	if r.WarmCount() != 0 {
		t.Errorf("%d warm interpreters after the last tab closed", r.WarmCount())
	}
	eventually(t, "the warm interpreter's process gone", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	})
}

// A page reload (the last tab closes, a new one opens within the grace)
// finds the same warm interpreter; without a connection it ends after the
// grace, counted from the latest disconnection.
func TestWarmInterpreterOutlivesAReload(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	r.opts.WarmGrace = 400 * time.Millisecond
	ws.EnsureHome("dan")
	u := User{Name: "dan"}
	r.Connected(u)
	eventually(t, "a warm interpreter for dan", func() bool { return r.readyWarm("dan") != nil })
	w := r.readyWarm("dan")
	for range 3 { // reloads, each well within the grace, together longer than it
		r.Disconnected("dan")
		time.Sleep(200 * time.Millisecond)
		r.Connected(u)
	}
	time.Sleep(300 * time.Millisecond) // an early timer would have fired by now
	if r.readyWarm("dan") != w || !processAlive(w.sp.PID()) {
		t.Fatal("a reload lost the warm interpreter")
	}
	r.Disconnected("dan")
	time.Sleep(200 * time.Millisecond)
	r.Connected(u)
	r.Disconnected("dan")              // the grace starts again here
	time.Sleep(250 * time.Millisecond) // past the first disconnection's timer, within this one's grace
	if r.readyWarm("dan") != w {
		t.Fatal("the warm interpreter ended before its grace")
	}
	eventually(t, "the warm interpreter ended after the grace", func() bool { return r.readyWarm("dan") == nil })
	eventually(t, "its process gone", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(w.sp.PID()) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	})
}

// The pool never holds more than its size, and only for connected users.
func TestWarmPoolIsBounded(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 2)
	for _, n := range []string{"u1", "u2", "u3"} {
		ws.EnsureHome(n)
		r.Connected(User{Name: n})
		defer r.Disconnected(n)
	}
	eventually(t, "two warm interpreters", func() bool { return r.WarmCount() == 2 })
	time.Sleep(300 * time.Millisecond) // a third would have been started by now
	if n := r.WarmCount(); n != 2 {
		t.Errorf("%d warm interpreters, want the pool's 2", n)
	}
	if r.readyWarm("u3") != nil {
		t.Errorf("u3 got a warm interpreter; u1 and u2 connected first")
	}
	// A user who never connected gets none, and their run starts cold.
	write(t, ws, "nobody", "Local/nobody/p.py", "print('cold')\n")
	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "nobody"}, "x", "Local/nobody/p.py", wk)
	if err != nil {
		t.Fatal(err)
	}
	if out := stdout(collect(t, sub, wk, func(m protocol.Message) bool { return m.Type == protocol.MsgREPLReady })); out != "cold\n" {
		t.Errorf("cold run printed %q", out)
	}
	if r.readyWarm("nobody") != nil {
		t.Errorf("a user with no connection got a warm interpreter")
	}
	r.Stop("nobody", "x")
}

// A run refused by a limit leaves the warm interpreter ready.
func TestRefusedRunKeepsTheWarmInterpreter(t *testing.T) {
	limits := registry.DefaultLimits()
	limits.MaxPerUser = 1
	r, ws := newWarmRunner(t, limits, 4)
	write(t, ws, "di", "Local/di/a.py", "input()\n")
	write(t, ws, "di", "Local/di/b.py", "print(2)\n")
	r.Connected(User{Name: "di"})
	defer r.Disconnected("di")
	eventually(t, "a warm interpreter", func() bool { return r.readyWarm("di") != nil })
	wk := make(waker, 1)
	if _, err := r.Run(User{Name: "di"}, "a", "Local/di/a.py", wk); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second warm interpreter", func() bool { return r.readyWarm("di") != nil })
	w := r.readyWarm("di")
	_, err := r.Run(User{Name: "di"}, "b", "Local/di/b.py", make(waker, 1))
	if !errors.Is(err, registry.ErrLimit) {
		t.Fatalf("second run: %v, want limit_reached", err)
	}
	if r.readyWarm("di") != w || !processAlive(w.sp.PID()) {
		t.Errorf("the refused run lost the warm interpreter")
	}
	r.Stop("di", "a")
}

// A course folder made after the warm interpreter started is not mounted in
// it: the run starts cold and sees the folder.
func TestNewCourseFolderStartsCold(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	courses := CourseAt
	if !r.sb.Remaps() {
		courses = filepath.Dir(filepath.Dir(ws.HomePath("ed")))
	}
	write(t, ws, "ed", "Local/ed/p.py", fmt.Sprintf("import os\nprint(sorted(os.listdir(%q)))\n", courses))
	r.Connected(User{Name: "ed"})
	defer r.Disconnected("ed")
	eventually(t, "a warm interpreter", func() bool { return r.readyWarm("ed") != nil })
	w := r.readyWarm("ed")
	if err := ws.Mkdir(workspace.Actor{Username: "prof", Professor: true}, "CS101"); err != nil {
		t.Fatal(err)
	}
	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "ed"}, "x", "Local/ed/p.py", wk)
	if err != nil {
		t.Fatal(err)
	}
	out := stdout(collect(t, sub, wk, func(m protocol.Message) bool { return m.Type == protocol.MsgREPLReady }))
	if !strings.Contains(out, "'CS101'") {
		t.Errorf("the run does not see the new course folder: %q", out)
	}
	if _, ok := r.reg.Get(w.id); ok {
		t.Errorf("the run took a warm interpreter that lacks the new course folder")
	}
	r.Stop("ed", "x")
}

// A run that arrives while the student's warm interpreter is still
// starting takes it when it is ready, rather than starting a second one
// cold.
func TestRunAdoptsAStartingWarmInterpreter(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	write(t, ws, "eve", "Local/eve/p.py", "print('warm?')\n")
	r.Connected(User{Name: "eve"})
	defer r.Disconnected("eve")
	r.mu.Lock()
	starting := r.pool.starting["eve"] != nil
	r.mu.Unlock()
	if !starting {
		t.Fatal("no warm interpreter on its way right after the connection")
	}
	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "eve"}, "r", "Local/eve/p.py", wk) // at once
	if err != nil {
		t.Fatal(err)
	}
	p := r.lookup("eve", "r")
	if p == nil || p.warm == nil {
		t.Fatalf("the run started cold beside the warm interpreter on its way (%+v)", p)
	}
	if out := stdout(collect(t, sub, wk, func(m protocol.Message) bool { return m.Type == protocol.MsgREPLReady })); out != "warm?\n" {
		t.Errorf("output %q", out)
	}
	r.Stop("eve", "r")
}

// A teacher running a student's files gets a warm interpreter with that
// student's folder mounted from the second file on.
func TestTeacherRunsAStudentsFilesWarm(t *testing.T) {
	r, ws := newWarmRunner(t, registry.DefaultLimits(), 4)
	write(t, ws, "fay", "Local/fay/a.py", "print('a')\n")
	write(t, ws, "fay", "Local/fay/b.py", "print('b')\n")
	ws.EnsureHome("prof")
	r.Connected(User{Name: "prof"})
	defer r.Disconnected("prof")
	eventually(t, "a warm interpreter for the teacher", func() bool { return r.readyWarm("prof") != nil })
	run := func(id, file string) *proc {
		t.Helper()
		wk := make(waker, 1)
		sub, err := r.Run(User{Name: "prof", Professor: true}, id, "Local/fay/"+file, wk)
		if err != nil {
			t.Fatal(err)
		}
		p := r.lookup("prof", id)
		want := strings.TrimSuffix(file, ".py") + "\n"
		if out := stdout(collect(t, sub, wk, func(m protocol.Message) bool { return m.Type == protocol.MsgREPLReady })); out != want {
			t.Errorf("%s printed %q", file, out)
		}
		r.Stop("prof", id)
		return p
	}
	if p := run("first", "a.py"); p.warm != nil {
		t.Error("the first run of a student's file took the teacher's own warm interpreter (it lacks the student's folder)")
	}
	eventually(t, "a warm interpreter with fay's folder", func() bool { return r.readyWarm("prof") != nil })
	if p := run("second", "b.py"); p.warm == nil {
		t.Error("the second run of fay's files started cold")
	}
}
