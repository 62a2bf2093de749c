package web

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/store"
)

// These tests drive the cleanup service through the real server, WebSocket
// and confined Python, with limits of a second or two and sweeps every
// 100 ms. Bounds on how long a sweep takes are generous ("within a few
// seconds"); a lower bound ("not before the limit") is measured from an
// instant before the limit's clock can start, so load cannot break it.

const (
	sleepSrc = "print('go')\nimport time\ntime.sleep(600)\n"
	spinSrc  = "print('go')\nwhile True: pass\n"
)

func TestIdleProgramsAreStoppedButComputingIsNotIdle(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.IdleTimeout = time.Second })
	w := alice.ws()

	// A REPL left at its prompt, and a script asleep: nothing moves.
	// Its last activity comes after the request is sent, so the stop must
	// come more than the idle timeout after this instant, however loaded
	// the machine.
	asked := time.Now()
	w.send(map[string]any{"type": "repl", "id": "r"})
	w.until("r", protocol.MsgREPLReady, wait)
	_, _, m := w.until("r", protocol.MsgExit, wait)
	if m.Reason != "idle" || !strings.Contains(m.Message, "did nothing for 1 second") {
		t.Fatalf("idle REPL: %+v", m)
	}
	if took := time.Since(asked); took <= time.Second {
		t.Errorf("the idle REPL was stopped %v after it was asked for, within the 1 s idle timeout", took)
	}
	w.send(map[string]any{"type": "run", "id": "s", "path": alice.program("sleep.py", sleepSrc)})
	if _, _, m := w.until("s", protocol.MsgExit, wait); m.Reason != "idle" {
		t.Fatalf("sleeping script: %+v", m)
	}

	// A computation that prints nothing for 3.5 times the idle timeout:
	// its CPU time moves, so it is not idle and finishes.
	think := alice.program("think.py", "import time\nt = time.time()\nn = 0\nwhile time.time() - t < 3.5:\n    n += 1\nprint('done', n > 0)\n")
	w.send(map[string]any{"type": "run", "id": "t", "path": think})
	if out, _, _ := w.until("t", protocol.MsgREPLReady, wait); out != "done True\n" {
		t.Fatalf("computation printed %q", out)
	}
	// Finished, it is a REPL at its prompt like any other.
	if _, _, m := w.until("t", protocol.MsgExit, wait); m.Reason != "idle" {
		t.Fatalf("after the computation: %+v", m)
	}
}

func TestWaitingForInputTooLongIsIdle(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.InputTimeout = time.Second })
	w := alice.ws()
	p := alice.program("ask.py", "name = input('name? ')\nprint('hi', name)\n")
	sent := time.Now() // before the wait for input can begin
	w.send(map[string]any{"type": "run", "id": "a", "path": p})
	w.until("a", protocol.MsgInputRequest, wait)
	_, _, m := w.until("a", protocol.MsgExit, wait)
	if m.Reason != "idle" || !strings.Contains(m.Message, "waited more than 1 second for input") {
		t.Fatalf("exit %+v", m)
	}
	if took := time.Since(sent); took <= time.Second {
		t.Errorf("stopped %v after the run was sent, within the 1 s input timeout", took)
	}
}

func TestOverAgeIsTimeoutButWaitingForInputDoesNotCount(t *testing.T) {
	_, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.WallClock = 2 * time.Second })
	w := alice.ws()
	w.send(map[string]any{"type": "run", "id": "spin", "path": alice.program("spin.py", spinSrc)})
	w.until("spin", protocol.MsgStdout, wait)
	_, _, m := w.until("spin", protocol.MsgExit, wait)
	if m.Reason != "timeout" || !strings.Contains(m.Message, "more than 2 seconds") {
		t.Fatalf("busy loop: %+v", m)
	}

	// Three seconds in input() are more than the wall clock, but waiting
	// for the student is not the program running.
	p := alice.program("ask.py", "name = input('name? ')\nprint('hi', name)\n")
	w.send(map[string]any{"type": "run", "id": "ask", "path": p})
	w.until("ask", protocol.MsgInputRequest, wait)
	time.Sleep(3 * time.Second)
	w.send(map[string]any{"type": "stdin", "id": "ask", "data": "bob\n"})
	if out, _, _ := w.until("ask", protocol.MsgREPLReady, wait); out != "hi bob\n" {
		t.Fatalf("after a long wait for input: %q", out)
	}
}

// ticker prints a line every 50 ms: never idle, never waiting, so with a
// long wall clock only its owner's absence can stop it.
const tickerSrc = "import time\nfor i in range(1000000):\n    print(i)\n    time.sleep(0.05)\n"

func TestAbandonedProgramIsGoneAfterTheGrace(t *testing.T) {
	r, prof, alice, _ := newClassRunRig(t, func(c *config.Config) { c.AbandonGrace = time.Second })
	w := alice.ws()
	w.send(map[string]any{"type": "run", "id": "k", "path": alice.program("ticker.py", tickerSrc)})
	w.until("k", protocol.MsgStdout, wait)
	if list, _ := prof.processList(); len(list) != 1 || list[0]["user"] != "alice" {
		t.Fatalf("before the disconnect the professor sees %v", list)
	}
	held := r.reg.ByOwner("alice")
	if len(held) != 1 {
		t.Fatalf("registry holds %d processes of alice", len(held))
	}
	pid, pidStart := held[0].PID, held[0].PIDStart

	closed := time.Now() // the grace starts after this, when the server sees the close
	w.close()
	if !eventually(10*time.Second, func() bool { return len(r.reg.ByOwner("alice")) == 0 }) {
		t.Fatalf("alice's program still held 10 s after she left: %+v", r.reg.ByOwner("alice"))
	}
	took := time.Since(closed)
	if took <= time.Second {
		t.Errorf("stopped %v after the disconnect, within the 1 s grace", took)
	}
	t.Logf("abandoned program gone %v after the disconnect", took.Round(time.Millisecond))
	if list, status := prof.processList(); status != 200 || len(list) != 0 {
		t.Fatalf("professor's list after the sweep: %d %v", status, list)
	}
	// The registry removes a process only once it has been waited for.
	if err := alive(pid, procStat{start: pidStart}); err == nil {
		t.Errorf("pid %d is still alive", pid)
	}
	// Coming back after the end, she still learns how her program ended.
	w2 := alice.ws()
	w2.send(map[string]any{"type": "attach", "id": "k"})
	if _, _, m := w2.until("k", protocol.MsgExit, wait); m.Reason != "abandoned" || !strings.Contains(m.Message, "disconnected") {
		t.Fatalf("attach after the sweep: %+v", m)
	}
	// An id that never ran is not found.
	w2.send(map[string]any{"type": "attach", "id": "never"})
	if m := w2.next("never", wait); m.Type != protocol.MsgError || m.Code != "not_found" {
		t.Fatalf("attach to an unknown id: %+v", m)
	}
}

func TestReconnectWithinTheGraceResumesTheStream(t *testing.T) {
	const grace = 3 * time.Second // the reconnect takes well under that, even on a loaded machine
	r, _, alice, _ := newClassRunRig(t, func(c *config.Config) { c.AbandonGrace = grace })
	w := alice.ws()
	w.send(map[string]any{"type": "run", "id": "k", "path": alice.program("ticker.py", tickerSrc)})

	var text strings.Builder
	var last uint64
	for strings.Count(text.String(), "\n") < 5 {
		m := w.next("k", wait)
		if m.Type == protocol.MsgExit || m.Type == protocol.MsgError {
			t.Fatalf("before the disconnect: %+v", m)
		}
		last = m.Seq
		text.WriteString(m.Data)
	}
	w.close()
	time.Sleep(500 * time.Millisecond) // it prints about ten lines nobody receives

	w2 := alice.ws()
	w2.send(map[string]any{"type": "attach", "id": "k", "since": last})
	resumed := time.Now()
	want := last + 1
	// Stay connected past the end of the grace the disconnect started: the
	// program must keep running.
	for time.Since(resumed) < grace {
		m := w2.next("k", wait)
		if m.Type != protocol.MsgStdout {
			t.Fatalf("after re-attaching: %+v", m)
		}
		if m.Seq != want {
			t.Fatalf("after re-attaching since %d: seq %d, want %d", last, m.Seq, want)
		}
		want++
		text.WriteString(m.Data)
	}
	lines := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n")
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("line %d is %q: output was lost or repeated across the reconnect", i, l)
		}
	}
	if n := len(r.reg.ByOwner("alice")); n != 1 {
		t.Fatalf("alice holds %d processes", n)
	}
	w2.send(map[string]any{"type": "stop", "id": "k"})
	if _, _, m := w2.until("k", protocol.MsgExit, wait); m.Reason != "stopped" {
		t.Fatalf("stop: %+v", m)
	}
	t.Logf("%d lines in order across a reconnect", len(lines))
}

func TestProfessorSeesAndStopsEveryProcess(t *testing.T) {
	r, prof, alice, bob := newClassRunRig(t, nil)
	before := time.Now()
	wa, wb := alice.ws(), bob.ws()
	work := alice.program("work.py", "data = bytearray(8 << 20)\nprint('go')\nwhile True: pass\n")
	wa.send(map[string]any{"type": "run", "id": "w", "path": work})
	wa.until("w", protocol.MsgStdout, wait)
	wb.send(map[string]any{"type": "repl", "id": "r"})
	wb.until("r", protocol.MsgREPLReady, wait)

	for _, req := range [][2]string{{"GET", "/api/admin/processes"}, {"DELETE", "/api/admin/processes/x"}} {
		if res := alice.do(req[0], req[1], nil, nil); res.status != 403 || res.errCode() != "forbidden" {
			t.Errorf("student %s %s: %d %s", req[0], req[1], res.status, res.body)
		}
	}

	// Memory and CPU are filled in by the runner's samples.
	var mine, bobs map[string]any
	if !eventually(wait, func() bool {
		list, _ := prof.processList()
		mine, bobs = nil, nil
		for _, p := range list {
			switch p["user"] {
			case "alice":
				mine = p
			case "bob":
				bobs = p
			}
		}
		return len(list) == 2 && mine != nil && bobs != nil && mine["memory_bytes"].(float64) > 0 && mine["cpu_seconds"].(float64) > 0
	}) {
		t.Fatalf("no sampled list of both programs: alice %v, bob %v", mine, bobs)
	}
	for _, f := range []string{"id", "user", "path", "kind", "state", "pid", "started_at", "last_activity", "memory_bytes", "cpu_seconds"} {
		if _, ok := mine[f]; !ok {
			t.Errorf("field %q missing from %v", f, mine)
		}
	}
	held := r.reg.ByOwner("alice")
	if len(held) != 1 || mine["id"] != held[0].ID || mine["pid"] != float64(held[0].PID) {
		t.Errorf("listed %v, registry holds %+v", mine, held)
	}
	if mine["path"] != work || mine["kind"] != "script" || mine["state"] != "running" {
		t.Errorf("alice's program: %v", mine)
	}
	if bobs["path"] != "" || bobs["kind"] != "repl" || bobs["state"] != "idle" {
		t.Errorf("bob's REPL: %v", bobs)
	}
	for _, f := range []string{"started_at", "last_activity"} {
		at, err := time.Parse(time.RFC3339Nano, mine[f].(string))
		if err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("%s = %v (%v), want a time during this test", f, mine[f], err)
		}
	}
	// 8 MiB of bytearray and an interpreter: the sample is whole megabytes,
	// and well under the 50 MB limit that would have stopped it.
	if mem := mine["memory_bytes"].(float64); mem < 8<<20 || mem > 50<<20 {
		t.Errorf("memory_bytes %v", mem)
	}

	id := mine["id"].(string)
	if res := prof.do("DELETE", "/api/admin/processes/"+id, nil, nil); res.status != 204 {
		t.Fatalf("professor stop: %d %s", res.status, res.body)
	}
	_, _, m := wa.until("w", protocol.MsgExit, wait)
	if m.Reason != "admin" || m.Message != "Stopped by your teacher." {
		t.Fatalf("alice sees %+v", m)
	}
	for _, gone := range []string{id, "p0000000000000000", "nope"} {
		if res := prof.do("DELETE", "/api/admin/processes/"+gone, nil, nil); res.status != 404 || res.errCode() != "not_found" {
			t.Errorf("stop %q: %d %s", gone, res.status, res.body)
		}
	}
	// Bob's REPL was not touched.
	wb.send(map[string]any{"type": "stdin", "id": "r", "data": "6 * 7\n"})
	if out, _, _ := wb.until("r", protocol.MsgREPLReady, wait); out != "42\n" {
		t.Fatalf("bob's REPL after alice's stop: %q", out)
	}
	if list, _ := prof.processList(); len(list) != 1 || list[0]["user"] != "bob" {
		t.Fatalf("after the stop: %v", list)
	}
}

func TestSessionTrackingFollowsRunningPrograms(t *testing.T) {
	_, prof, alice, _ := newClassRunRig(t, nil)
	type usage struct {
		ProcessCount  int     `json:"process_count"`
		TotalMemoryMB float64 `json:"total_memory_mb"`
		CPUSeconds    float64 `json:"cpu_seconds"`
	}
	row := func() (procs []map[string]any, u usage) {
		res := prof.do("GET", "/api/admin/sessions", nil, nil)
		if res.status != 200 {
			t.Fatalf("sessions: %d %s", res.status, res.body)
		}
		var body struct {
			Sessions []struct {
				Username        string          `json:"username"`
				ActiveProcesses json.RawMessage `json:"active_processes"`
				ResourceUsage   json.RawMessage `json:"resource_usage"`
			} `json:"sessions"`
		}
		res.json(t, &body)
		for _, s := range body.Sessions {
			if s.Username == "alice" {
				if err := json.Unmarshal(s.ActiveProcesses, &procs); err != nil {
					t.Fatalf("active_processes %s: %v", s.ActiveProcesses, err)
				}
				if err := json.Unmarshal(s.ResourceUsage, &u); err != nil {
					t.Fatalf("resource_usage %s: %v", s.ResourceUsage, err)
				}
				return procs, u
			}
		}
		t.Fatalf("no session row of alice in %s", res.body)
		return nil, u
	}

	w := alice.ws()
	p := alice.program("spin.py", spinSrc)
	w.send(map[string]any{"type": "run", "id": "s", "path": p})
	w.until("s", protocol.MsgStdout, wait)
	var procs []map[string]any
	var u usage
	// The tracker writes in batches; allow a few seconds.
	if !eventually(5*time.Second, func() bool {
		procs, u = row()
		return len(procs) == 1 && u.ProcessCount == 1
	}) {
		t.Fatalf("while running: active_processes %v, resource_usage %+v", procs, u)
	}
	if procs[0]["path"] != p || procs[0]["kind"] != "script" || procs[0]["pid"].(float64) <= 0 || procs[0]["id"] == "" {
		t.Errorf("tracked process %v", procs[0])
	}

	w.send(map[string]any{"type": "stop", "id": "s"})
	w.until("s", protocol.MsgExit, wait)
	if !eventually(5*time.Second, func() bool {
		procs, u = row()
		return len(procs) == 0 && u.ProcessCount == 0
	}) {
		t.Fatalf("after the end: active_processes %v, resource_usage %+v", procs, u)
	}
}

// neverKillDuration is how long the students work in the never-kill proof:
// PYTHONIDE_NEVERKILL_DURATION if set, else 10 s with -short, else 2 minutes.
func neverKillDuration(t *testing.T) time.Duration {
	if v := os.Getenv("PYTHONIDE_NEVERKILL_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("PYTHONIDE_NEVERKILL_DURATION=%q: want a positive duration such as 5m", v)
		}
		return d
	}
	if testing.Short() {
		return 10 * time.Second
	}
	return 2 * time.Minute
}

// scenario is one thing a student does in the never-kill proof over a fresh
// connection; it returns how the program ended ("gone" when it ended while
// nobody was connected, so its reason could not be seen).
type scenario struct {
	name   string
	accept []string // reasons that are right for it
	do     func(c *client, w *wsc, id string) (string, error)
}

func endOf(w *wsc, id string) (string, error) {
	m, err := w.await(id, wait)
	if err != nil {
		return "", err
	}
	if m.Type != protocol.MsgExit {
		return "", fmt.Errorf("%s: %+v", id, m)
	}
	return m.Reason, nil
}

// runAndEnd runs the student's file and waits for its end.
func runAndEnd(file string) func(c *client, w *wsc, id string) (string, error) {
	return func(c *client, w *wsc, id string) (string, error) {
		if err := w.trySend(map[string]any{"type": "run", "id": id, "path": "Local/" + c.name + "/" + file}); err != nil {
			return "", err
		}
		return endOf(w, id)
	}
}

func neverKillScenarios(r *rig) []scenario {
	// Every limit is 1 s, so a program the machine is slow to start may be
	// over its wall clock before it reaches input() or the prompt: timeout
	// is accepted beside the reason the scenario aims at.
	return []scenario{
		{"finish", []string{"exited", "idle", "timeout"}, func(c *client, w *wsc, id string) (string, error) {
			if err := w.trySend(map[string]any{"type": "run", "id": id, "path": "Local/" + c.name + "/hello.py"}); err != nil {
				return "", err
			}
			if m, err := w.await(id, wait, protocol.MsgREPLReady); err != nil || m.Type != protocol.MsgREPLReady {
				return m.Reason, err
			}
			if err := w.trySend(map[string]any{"type": "stdin", "id": id, "data": "exit()"}); err != nil {
				return "", err
			}
			return endOf(w, id)
		}},
		{"spin", []string{"timeout"}, runAndEnd("spin.py")},
		{"sleep", []string{"timeout", "idle"}, runAndEnd("sleep.py")},
		{"input", []string{"idle", "timeout"}, runAndEnd("ask.py")},
		{"repl", []string{"idle", "timeout"}, func(c *client, w *wsc, id string) (string, error) {
			if err := w.trySend(map[string]any{"type": "repl", "id": id}); err != nil {
				return "", err
			}
			return endOf(w, id)
		}},
		{"stop", []string{"stopped", "timeout", "idle"}, func(c *client, w *wsc, id string) (string, error) {
			if err := w.trySend(map[string]any{"type": "run", "id": id, "path": "Local/" + c.name + "/sleep.py"}); err != nil {
				return "", err
			}
			if m, err := w.await(id, wait, protocol.MsgStdout); err != nil || m.Type != protocol.MsgStdout {
				return m.Reason, err
			}
			if err := w.trySend(map[string]any{"type": "stop", "id": id}); err != nil {
				return "", err
			}
			return endOf(w, id)
		}},
		{"leave", []string{"gone"}, func(c *client, w *wsc, id string) (string, error) {
			// Leaving at once, before the program has started, makes the
			// grace end before its wall clock (which counts from the start);
			// the ticker is never idle. So it is abandoned, but nobody is
			// there to see the reason.
			if err := w.trySend(map[string]any{"type": "run", "id": id, "path": "Local/" + c.name + "/ticker.py"}); err != nil {
				return "", err
			}
			w.close()
			if !eventually(wait, func() bool { return len(r.reg.ByOwner(c.name)) > 0 }) {
				return "", fmt.Errorf("%s: never admitted", id)
			}
			if !eventually(wait, func() bool { return len(r.reg.ByOwner(c.name)) == 0 }) {
				return "", fmt.Errorf("%s: still held %v after its owner left", id, wait)
			}
			return "gone", nil
		}},
	}
}

// TestCleanupNeverKillsWhatItDidNotStart is the proof the seed's cleanup
// job failed: with every age limit at 1 s and sweeps every 100 ms, students
// start and stop programs for a while (many are swept) beside processes the
// server did not start, some named like the server, some in its process
// group, one running as the sandbox uid. Every one of those, and the server,
// is alive at the end.
func TestCleanupNeverKillsWhatItDidNotStart(t *testing.T) {
	duration := neverKillDuration(t)
	r := newRunRig(t, func(c *config.Config) {
		c.WallClock, c.IdleTimeout, c.InputTimeout, c.AbandonGrace = time.Second, time.Second, time.Second, time.Second
		c.SweepInterval = 100 * time.Millisecond
	})
	decoys := startDecoys(t, r.cfg.SandboxUID)
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r.user("prof", store.RoleProfessor)
	prof := r.login("prof")
	scenarios := neverKillScenarios(r)
	const students = 4
	var clients []*client
	for i := range students {
		name := fmt.Sprintf("student%d", i)
		r.user(name, store.RoleStudent)
		c := r.login(name)
		c.program("hello.py", "print('hello')\n")
		c.program("spin.py", spinSrc)
		c.program("sleep.py", sleepSrc)
		c.program("ask.py", "input('? ')\n")
		c.program("ticker.py", tickerSrc)
		clients = append(clients, c)
	}

	var mu sync.Mutex
	counts := map[string]int{}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for si, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every student goes through every scenario at least once.
			for n := 0; n < len(scenarios) || time.Now().Before(deadline); n++ {
				sc := scenarios[(n+si)%len(scenarios)]
				w, err := c.tryWS()
				if err != nil {
					t.Error(err)
					return
				}
				id := fmt.Sprintf("%s-%d", sc.name, n)
				reason, err := sc.do(c, w, id)
				w.close()
				if err != nil {
					t.Errorf("%s %s: %v", c.name, id, err)
					return
				}
				if !slices.Contains(sc.accept, reason) {
					t.Errorf("%s %s ended %q, want one of %v", c.name, id, reason, sc.accept)
				}
				mu.Lock()
				counts[reason]++
				mu.Unlock()
			}
		}()
	}
	// Meanwhile the professor keeps looking, as a teacher's dashboard does.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for watching := true; watching; {
		select {
		case <-done:
			watching = false
		case <-time.After(time.Second):
			if _, status := prof.processList(); status != 200 {
				t.Errorf("professor's list during the run: %d", status)
			}
		}
	}

	for _, d := range decoys {
		if err := alive(d.cmd.Process.Pid, d.stat); err != nil {
			t.Errorf("decoy %q (pid %d) was harmed: %v", d.name, d.cmd.Process.Pid, err)
		}
	}
	if err := alive(os.Getpid(), self); err != nil {
		t.Errorf("the server: %v", err)
	}
	if res := prof.do("GET", "/healthz", nil, nil); res.status != 200 {
		t.Errorf("the server no longer answers: %d %s", res.status, res.body)
	}
	if !eventually(wait, func() bool { list, _ := prof.processList(); return len(list) == 0 }) {
		t.Errorf("programs left after the students stopped: %v", r.reg.Snapshot())
	}
	// The sweep demonstrably ran: programs were stopped for each age limit.
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d runs by %d students in %v beside %d decoys; ends: %v", total, students, duration, len(decoys), counts)
	if counts["timeout"] == 0 || counts["idle"] == 0 || counts["gone"] == 0 {
		t.Errorf("the sweep did not stop programs for every age limit: %v", counts)
	}
}
