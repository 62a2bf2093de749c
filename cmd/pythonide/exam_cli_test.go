package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExamCommands holds an exam from the command line beside a running
// server, as a teacher at a terminal would: start it with a new assignment
// and a starter folder, watch the live view and the log, end it; the
// running server fences the student within seconds of the start and hands
// the folder back read-only at the end. And the refusals a mistyped
// command meets.
func TestExamCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ok, refused := commands(t, data)
	for _, u := range [][]string{{"teacher", "professor"}, {"alice", "student"}, {"bob", "student"}} {
		cmd := command(t, data, "user", "add", u[0], "--role", u[1], "--password-stdin")
		cmd.Stdin = strings.NewReader(u[0] + "-pw-1\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user add: %v %s", err, out)
		}
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	base := "http://" + addr
	do := func(c *http.Client, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Origin", base)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	file := func(p string) string { return "/api/files/content?path=" + url.QueryEscape(p) }
	teacher := login(t, addr, "teacher", "teacher-pw-1")
	alice := login(t, addr, "alice", "alice-pw-1")
	bob := login(t, addr, "bob", "bob-pw-1")
	if code, body := do(teacher, "POST", "/api/files/mkdir", `{"path":"Local/teacher/quiz1"}`); code != 201 {
		t.Fatalf("mkdir: %d %s", code, body)
	}
	save(t, teacher, addr, "Local/teacher/quiz1/task.py", "# write sum_to(n)\n")
	save(t, alice, addr, "Local/alice/notes.py", "crib = 42\n")

	// Mistakes first: none of them records anything.
	refused("unknown exam subcommand", 2, "exam", "pause", "quiz1")
	refused("wrong number of arguments", 2, "exam", "start")
	refused("Say when the exam ends", 1, "exam", "start", "quiz1", "--title", "Quiz 1")
	refused("give its --title", 1, "exam", "start", "quiz9", "--minutes", "30")
	refused("There is no user \"carol\"", 1, "exam", "start", "quiz1", "--title", "Quiz 1", "--minutes", "30", "--users", "carol")
	refused("not a student", 1, "exam", "start", "quiz1", "--title", "Quiz 1", "--minutes", "30", "--users", "teacher")
	refused("--instructions, --starter and --feedback describe a new assignment", 2, "exam", "start", "quiz9", "--minutes", "30", "--starter", "Local/teacher/quiz1")
	refused("There is no exam \"quiz1\"", 1, "exam", "end", "quiz1")
	if out := ok("exam", "list"); strings.Contains(out, "quiz") {
		t.Fatalf("a refused start left an exam:\n%s", out)
	}

	out := ok("exam", "start", "quiz1", "--title", "Quiz 1", "--minutes", "30", "--time-zone", "Europe/Berlin",
		"--starter", "Local/teacher/quiz1", "--users", "alice")
	if !regexp.MustCompile(`(?m)^alice\s+copied\s+Local/alice/quiz1`).MatchString(out) || !strings.Contains(out, "exam quiz1 open") || !strings.Contains(out, "1 student(s)") {
		t.Fatalf("exam start:\n%s", out)
	}

	// The running server learns of it from the database: alice sees only
	// the exam folder; bob, who does not sit it, works as before.
	if !waitFor(10*time.Second, func() bool { code, _ := do(alice, "GET", file("Local/alice/notes.py"), ""); return code == 403 }) {
		code, body := do(alice, "GET", file("Local/alice/notes.py"), "")
		t.Fatalf("10 s after the start, alice still reads her notes: %d %s", code, body)
	}
	if code, body := do(alice, "GET", file("Local/alice/quiz1/task.py"), ""); code != 200 || body != "# write sum_to(n)\n" {
		t.Fatalf("alice's exam folder: %d %q", code, body)
	}
	save(t, alice, addr, "Local/alice/quiz1/task.py", "def sum_to(n):\n    return n * (n + 1) // 2\n")
	save(t, bob, addr, "Local/bob/free.py", "print('not in the exam')\n")

	row := regexp.MustCompile(`(?m)^quiz1\s+Quiz 1\s+\S+\s+(\S+)\s+open\s+1$`).FindStringSubmatch(ok("exam", "list"))
	if row == nil {
		t.Fatalf("exam list:\n%s", ok("exam", "list"))
	}
	// Another exam for her in that window is refused, naming when hers ends as it was set.
	refused(`The student alice sits the exam "quiz1" at that time (until `+row[1]+" Europe/Berlin)", 1,
		"exam", "start", "quiz2", "--title", "Quiz 2", "--minutes", "30", "--users", "alice")
	out = ok("exam", "show", "quiz1")
	// She logged in before the exam began: no login of hers in it.
	if !regexp.MustCompile(`(?m)^alice\s+no\s+-\s+\d{4}-\d\d-\d\dT\d\d:\d\d\s+-\s+1\s+0\s+1\s+no$`).MatchString(out) ||
		!strings.Contains(out, "(Europe/Berlin)") {
		t.Errorf("exam show (one save, the refused read of her notes, times in Berlin's):\n%s", out)
	}
	out = ok("exam", "log", "quiz1", "--user", "alice")
	for _, want := range []string{"save", "Local/alice/quiz1/task.py", "denied", "Local%2Falice%2Fnotes.py"} {
		if !strings.Contains(out, want) {
			t.Errorf("exam log has no %q:\n%s", want, out)
		}
	}

	out = ok("exam", "end", "quiz1")
	if !strings.Contains(out, "1 of 1 folder(s) handed in") {
		t.Fatalf("exam end:\n%s", out)
	}
	if out := ok("exam", "show", "quiz1"); !regexp.MustCompile(`(?m)^quiz1 "Quiz 1": ended`).MatchString(out) || !regexp.MustCompile(`(?m)^alice\s.*final \S+$`).MatchString(out) {
		t.Errorf("exam show after the end:\n%s", out)
	}
	// Back on the server: the folder is read-only, the rest of the home open.
	if !waitFor(10*time.Second, func() bool { code, _ := do(alice, "GET", file("Local/alice/notes.py"), ""); return code == 200 }) {
		t.Fatal("10 s after the end, alice's notes are still fenced off")
	}
	if code, body := do(alice, "PUT", file("Local/alice/quiz1/task.py"), "changed after the end\n"); code != 403 || !strings.Contains(body, "is over") {
		t.Errorf("a save into the exam folder after the end: %d %s", code, body)
	}
	code, body := do(teacher, "GET", "/api/admin/assignments/quiz1/submissions", "")
	if code != 200 || !strings.Contains(body, `"username":"alice"`) {
		t.Errorf("the handed-in folder among the submissions: %d %s", code, body)
	}
	refused("There is no exam \"quiz9\"", 1, "exam", "show", "quiz9")

	// One for later: scheduled, nothing handed out; ended before it began,
	// it hands in nothing and bob never sees it.
	if out := ok("exam", "start", "later", "--title", "Later", "--starts", "2099-01-01T09:00", "--minutes", "30", "--users", "bob"); !strings.Contains(out, "exam later scheduled: 2099-01-01T09:00 to 2099-01-01T09:30 (UTC)") || strings.Contains(out, "USERNAME") {
		t.Errorf("a scheduled exam's start:\n%s", out)
	}
	if out := ok("exam", "list"); !regexp.MustCompile(`(?m)^later\s+Later\s+2099-01-01T09:00\s+2099-01-01T09:30\s+scheduled\s+1$`).MatchString(out) {
		t.Errorf("exam list with a scheduled exam:\n%s", out)
	}
	if code, _ := do(bob, "GET", file("Local/bob/free.py"), ""); code != 200 {
		t.Errorf("bob is fenced by an exam in 2099: %d", code)
	}
	if out := ok("exam", "end", "later"); !strings.Contains(out, "0 of 1 folder(s) handed in") {
		t.Errorf("ending an exam before it began:\n%s", out)
	}

	// The end took alice's folder from the programs' user; a server
	// starting again gives every other file in the homes to that user, but
	// not what an exam's end sealed.
	if os.Geteuid() != 0 {
		return // programs run as the server's own user: nothing to take
	}
	uid := func(p string) uint32 {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(data, "ide", filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid
	}
	if uid("Local/alice/quiz1") != 0 || uid("Local/alice/quiz1/task.py") != 0 || uid("Local/alice/notes.py") == 0 {
		t.Fatalf("after the end: quiz1 owned by %d, its task.py by %d, notes.py by %d", uid("Local/alice/quiz1"), uid("Local/alice/quiz1/task.py"), uid("Local/alice/notes.py"))
	}
	srv.Process.Kill()
	srv.Wait()
	startServer(t, data, freeAddr(t))
	if uid("Local/alice/quiz1/task.py") != 0 || uid("Local/alice/notes.py") == 0 {
		t.Errorf("after a restart: task.py owned by %d, notes.py by %d", uid("Local/alice/quiz1/task.py"), uid("Local/alice/notes.py"))
	}
}
