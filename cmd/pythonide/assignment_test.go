package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAssignmentCommands runs a homework cycle from the command line, as a
// teacher who prefers a terminal would: create with instructions and a
// starter folder, add a test, publish, a student hands in through the
// running server, the gradebook and its CSV, a regrade after the tests
// changed; and the refusals a mistyped command meets.
func TestAssignmentCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ok, refused := commands(t, data)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	refused("no professor yet", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00")
	for _, u := range [][]string{{"teacher", "professor"}, {"alice", "student"}} {
		cmd := command(t, data, "user", "add", u[0], "--role", u[1], "--password-stdin")
		cmd.Stdin = strings.NewReader(u[0] + "-pw-1\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user add: %v %s", err, out)
		}
	}

	addr := freeAddr(t)
	startServer(t, data, addr)
	base := "http://" + addr
	teacher := login(t, addr, "teacher", "teacher-pw-1")
	alice := login(t, addr, "alice", "alice-pw-1")
	put := func(c *http.Client, path, text string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", base+"/api/files/content?path="+path, strings.NewReader(text))
		res, err := c.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("save %s: %v %v", path, res, err)
		}
		res.Body.Close()
	}
	res, err := teacher.Post(base+"/api/files/mkdir", "application/json", strings.NewReader(`{"path":"Local/teacher/week1"}`))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("mkdir: %v %v", res, err)
	}
	res.Body.Close()
	put(teacher, "Local/teacher/week1/sums.py", "def add(a, b):\n    pass\n")

	// Mistakes get a sentence and change nothing.
	refused("cannot be read; write it as 2026-12-09T23:59", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "next friday")
	refused("time zone \"Mars/Olympus\" is unknown", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00", "--time-zone", "Mars/Olympus")
	refused("not a whole number", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00", "--late-minutes", "soon")
	refused("starter folder", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00", "--starter", "Local/teacher/nope")
	refused("unknown assignment subcommand", 2, "assignment", "hand-in", "hw1")
	if out := ok("assignment", "list"); strings.Contains(out, "hw1") {
		t.Fatalf("a refused create left an assignment:\n%s", out)
	}

	md := write("hw1.md", "# Sums\nWrite `add`.\n")
	out := ok("assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00", "--time-zone", "Europe/Berlin",
		"--instructions", md, "--starter", "Local/teacher/week1", "--test-seconds", "5")
	if !strings.Contains(out, "created hw1") || !strings.Contains(out, "due 2099-01-01T12:00") {
		t.Fatalf("create said:\n%s", out)
	}
	refused("already an assignment", 1, "assignment", "create", "hw1", "--title", "Sums", "--due", "2099-01-01T12:00")
	refused("named test_<something>.py", 1, "assignment", "test", "hw1", write("checks.py", "assert True\n"))
	test := write("test_sums.py", "from sums import add\n\ndef test_two():\n    assert add(1, 1) == 2\n")
	ok("assignment", "test", "hw1", test)
	if out := ok("assignment", "list"); !strings.Contains(out, "unpublished") {
		t.Fatalf("list before publish:\n%s", out)
	}

	// A second professor: the commands must be told whose it is.
	ok("user", "add", "other", "--role", "professor")
	refused("say which with --by", 2, "assignment", "publish", "hw1")
	out = ok("assignment", "publish", "hw1", "--by", "teacher")
	if !strings.Contains(out, "alice") || !strings.Contains(out, "1 copied") {
		t.Fatalf("publish said:\n%s", out)
	}
	res, err = alice.Get(base + "/api/files/content?path=Local/alice/hw1/sums.py")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the starter file did not reach alice: %v %v", res, err)
	}
	res.Body.Close()

	// alice hands in a wrong answer; the server grades it.
	submit := func() string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/assignments/hw1/submit", nil)
		res, err := alice.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("submit: %v %v", res, err)
		}
		defer res.Body.Close()
		var x struct{ ID string }
		json.NewDecoder(res.Body).Decode(&x)
		return x.ID
	}
	gradebook := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			out := ok("assignment", "gradebook")
			if strings.Contains(out, want) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("the gradebook never showed %q:\n%s", want, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	submit()
	gradebook("0/1")
	put(alice, "Local/alice/hw1/sums.py", "def add(a, b):\n    return a + b\n")
	submit()
	gradebook("1/1")
	csv := ok("assignment", "gradebook", "--csv")
	if !strings.HasPrefix(csv, "username,full_name,hw1 score,hw1 late,hw1 submitted_at\nalice,,1,no,") {
		t.Fatalf("csv:\n%s", csv)
	}

	// New tests, then a regrade from the command line: the server's grader
	// takes the queue from the store.
	ok("assignment", "test", "hw1", write("test_more.py", "from sums import add\n\ndef test_neg():\n    assert add(-1, -1) == -2\n\ndef test_big():\n    assert add(10**20, 1) == 10**20 + 1\n"))
	if out := ok("assignment", "regrade", "hw1"); !strings.Contains(out, "2 submission(s) of hw1 queued") {
		t.Fatalf("regrade said:\n%s", out)
	}
	gradebook("3/3")
	if out := ok("assignment", "list"); !strings.Contains(out, "open") || !strings.Contains(out, "hw1") {
		t.Fatalf("list after:\n%s", out)
	}
}
