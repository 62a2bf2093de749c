package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// examRig is a run rig whose exam service runs (every 50 ms) and refits
// the rig's programs.
func examRig(t *testing.T, st *store.Store, tweak func(*config.Config)) *rig {
	t.Helper()
	r := newRunRigWith(t, runRigOptions{store: st, tweak: tweak})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.server.exams = exam.New(st, r.ws, r.server.assignments, exam.Options{Instance: "test", Runner: r.runner,
		Every: 50 * time.Millisecond, Grace: -1, CacheFor: 50 * time.Millisecond}, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.server.exams.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// refusal is the API error's message.
func refusal(t *testing.T, res result) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	res.json(t, &e)
	return e.Error.Message
}

// fenced checks that res is the exam's 403 with its sentence.
func fenced(t *testing.T, what string, res result) {
	t.Helper()
	if res.status != http.StatusForbidden || refusal(t, res) != exam.Refusal {
		t.Fatalf("%s: %d %s, want 403 %q", what, res.status, res.body, exam.Refusal)
	}
}

// child is the path of name inside folder p ("" the root).
func child(p, name string) string {
	if p == "" {
		return name
	}
	return p + "/" + name
}

func uploadTo(c *client, dir string) result {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "up.py")
	fw.Write([]byte("print('uploaded')\n"))
	mw.Close()
	return c.do("POST", "/api/files/upload?dir="+qp(dir), buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
}

// An exam through the API, on both stores, with real programs: the
// teacher's routes refuse students; during the exam a student reaches
// nothing outside their exam folder by any file route (their other files,
// another student's, Local, the root, the course notes, history and the
// trash) and is told why, their programs find nothing of the real home,
// cannot plant a link, and programs from before the exam are stopped; one
// session; every save, run, login and refusal is in the log; the live view
// shows who is connected and their last save and run; a reconnect goes on
// where they were; the end hands the folder in and leaves it read-only.
func TestExamEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := examRig(t, st, func(c *config.Config) { c.SingleSession = false })
		r.user("prof", store.RoleProfessor)
		r.user("alice", store.RoleStudent)
		r.user("bob", store.RoleStudent)
		prof, alice, bob := r.login("prof"), r.login("alice"), r.login("bob")
		aliceElsewhere := r.login("alice") // a second browser, allowed without --single-session

		wantStatus(t, "notes", alice.put("Local/alice/notes.py", "SECRET = 'my notes'\n"), 200)
		wantStatus(t, "bob's", bob.put("Local/bob/answers.py", "BOB = 'answers'\n"), 200)
		wantStatus(t, "course", prof.do("POST", "/api/files/mkdir", map[string]any{"path": "Lecture Notes"}, nil), 201)
		wantStatus(t, "course file", prof.put("Lecture Notes/week1.py", "NOTES = 'course'\n"), 200)
		wantStatus(t, "starter", prof.do("POST", "/api/files/mkdir", map[string]any{"path": "Local/prof/final-starter"}, nil), 201)
		wantStatus(t, "starter file", prof.put("Local/prof/final-starter/q1.py", "# question 1\n"), 200)

		// A program alice started before the exam: stopped when it begins.
		aw := alice.ws()
		alice.runSource(aw, "before", "before.py", "name = input('waiting? ')\n")
		aw.until("before", protocol.MsgInputRequest, wait)

		// Students reach no teacher route.
		for _, route := range [][2]string{{"GET", "/api/admin/exams"}, {"POST", "/api/admin/exams"}, {"GET", "/api/admin/exams/final"},
			{"GET", "/api/admin/exams/final/events"}, {"POST", "/api/admin/exams/final/end"}} {
			wantStatus(t, "a student at "+route[1], bob.do(route[0], route[1], map[string]any{"id": "x", "title": "x", "minutes": 5, "users": "all"}, nil), http.StatusForbidden)
		}
		for _, bad := range []map[string]any{
			{"id": "x1", "title": "X", "users": []string{"alice"}},
			{"id": "x2", "title": "X", "users": []string{"prof"}, "minutes": 30},
			{"id": "X 3", "title": "X", "users": []string{"alice"}, "minutes": 30},
		} {
			res := prof.do("POST", "/api/admin/exams", bad, nil)
			wantStatus(t, "an invalid exam", res, http.StatusBadRequest)
			plainWords(t, "refusal", refusal(t, res))
		}

		res := prof.do("POST", "/api/admin/exams", map[string]any{"id": "final", "title": "Final exam", "starter": "Local/prof/final-starter",
			"users": []string{"alice"}, "minutes": 30}, nil)
		wantStatus(t, "start", res, http.StatusCreated)
		var started struct {
			Exam       exam.View
			Assignment assignment.View
			Distribute struct{ Copied, Failed int }
		}
		res.json(t, &started)
		if started.Exam.State != "open" || started.Exam.Minutes != 30 || started.Distribute.Copied != 1 || !started.Assignment.DueAt.Equal(started.Exam.EndsAt) {
			t.Fatalf("started: %s", res.body)
		}
		var mine struct{ Exam *exam.Mine }
		alice.do("GET", "/api/exam", nil, nil).json(t, &mine)
		if mine.Exam == nil || mine.Exam.Folder != "Local/alice/final" || mine.Exam.RemainingSeconds < 29*60 || mine.Exam.CourseNotes {
			t.Fatalf("alice's exam: %+v", mine.Exam)
		}
		bob.do("GET", "/api/exam", nil, nil).json(t, &mine)
		if mine.Exam != nil {
			t.Fatalf("bob sits no exam: %+v", mine.Exam)
		}
		_, _, m := aw.until("before", protocol.MsgExit, wait)
		if !strings.Contains(m.Message, "exam has begun") {
			t.Fatalf("the program from before the exam: %+v", m)
		}
		// One session: the older browser's is ended.
		waitUntil(t, "alice's older session to end", func() bool { return alice.do("GET", "/api/me", nil, nil).status == 401 })
		if aliceElsewhere.do("GET", "/api/me", nil, nil).status != 200 {
			t.Fatal("alice's newest session was ended")
		}
		alice = aliceElsewhere
		aw.close()

		// Every file route refuses every path outside the exam folder.
		const q1 = "Local/alice/final/q1.py"
		for _, p := range []string{"Local/alice/notes.py", "Local/alice", "Local/alice/final-x", "Local", "", "Local/bob/answers.py", "Local/bob",
			"Lecture Notes/week1.py", "Lecture Notes"} {
			fenced(t, "list "+p, alice.do("GET", "/api/files?path="+qp(p), nil, nil))
			fenced(t, "read "+p, alice.get(p))
			fenced(t, "save "+p, alice.put(p, "x"))
			fenced(t, "save in "+p, alice.put(child(p, "new.py"), "x"))
			fenced(t, "delete "+p, alice.do("DELETE", "/api/files?path="+qp(p), nil, nil))
			fenced(t, "mkdir in "+p, alice.do("POST", "/api/files/mkdir", map[string]any{"path": child(p, "d")}, nil))
			fenced(t, "move out to "+p, alice.do("POST", "/api/files/move", map[string]any{"from": q1, "to": child(p, "q1.py")}, nil))
			fenced(t, "move in from "+p, alice.do("POST", "/api/files/move", map[string]any{"from": p, "to": "Local/alice/final/in"}, nil))
			fenced(t, "copy out to "+p, alice.do("POST", "/api/files/copy", map[string]any{"from": q1, "to": child(p, "q1.py")}, nil))
			fenced(t, "copy in from "+p, alice.do("POST", "/api/files/copy", map[string]any{"from": p, "to": "Local/alice/final/in"}, nil))
			fenced(t, "upload to "+p, uploadTo(alice, p))
			fenced(t, "download "+p, alice.do("GET", "/api/files/download?path="+qp(p), nil, nil))
			fenced(t, "search "+p, alice.do("GET", "/api/files/search?path="+qp(p)+"&q=SECRET", nil, nil))
		}
		// History and the trash would bring back what was there before.
		for _, route := range []string{"/api/files/history?path=" + qp(q1), "/api/files/history/content?path=" + qp(q1) + "&version=x",
			"/api/files/trash"} {
			fenced(t, route, alice.do("GET", route, nil, nil))
		}
		fenced(t, "restore", alice.do("POST", "/api/files/trash/restore", map[string]any{"id": "x"}, nil))
		// Inside, everything works.
		wantStatus(t, "list the exam folder", alice.do("GET", "/api/files?path="+qp("Local/alice/final"), nil, nil), 200)
		if got := alice.get(q1); got.status != 200 || string(got.body) != "# question 1\n" {
			t.Fatalf("the starter: %d %s", got.status, got.body)
		}
		wantStatus(t, "save", alice.put(q1, "print('answer one')\n"), 200)
		wantStatus(t, "upload", uploadTo(alice, "Local/alice/final"), 201)
		wantStatus(t, "copy", alice.do("POST", "/api/files/copy", map[string]any{"from": q1, "to": "Local/alice/final/q1-copy.py"}, nil), 201)
		wantStatus(t, "zip", alice.do("GET", "/api/files/download?path="+qp("Local/alice/final"), nil, nil), 200)
		wantStatus(t, "search", alice.do("GET", "/api/files/search?path="+qp("Local/alice/final")+"&q=answer", nil, nil), 200)
		wantStatus(t, "state", alice.do("PUT", "/api/me/state", map[string]any{"tabs": []string{q1}}, nil), 204)
		// bob, who sits no exam, is not limited.
		wantStatus(t, "bob's own files", bob.get("Local/bob/answers.py"), 200)

		// Programs: the exam folder is the home, nothing else of it is there.
		w := alice.ws()
		home := r.ws.HomePath("alice")
		probe := fmt.Sprintf(`import os
print("cwd", os.getcwd(), sorted(os.listdir(os.path.expanduser("~"))))
for p in ["../notes.py", os.path.expanduser("~/../notes.py"), %q, %q, "/home/student/notes.py", "/course/Lecture Notes/week1.py", "../../bob/answers.py"]:
    try:
        open(p).read()
        print("READ", p)
    except OSError as e:
        print("absent", type(e).__name__)
try:
    os.symlink("..", "up")
    print("LINKED")
except OSError as e:
    print("no link", type(e).__name__)
`, home+"/notes.py", r.ws.HomePath("bob")+"/answers.py")
		wantStatus(t, "probe", alice.put("Local/alice/final/probe.py", probe), 200)
		w.send(map[string]any{"type": "run", "id": "probe", "path": "Local/alice/final/probe.py"})
		out, errOut, _ := w.until("probe", protocol.MsgREPLReady, wait)
		if strings.Contains(out, "READ") || strings.Contains(out, "LINKED") || !strings.Contains(out, "no link") ||
			strings.Count(out, "absent") != 7 || !strings.Contains(out, "'probe.py', 'q1-copy.py', 'q1.py', 'up.py']") || strings.Contains(out, "notes") {
			t.Fatalf("the program saw more than its exam folder:\n%s%s", out, errOut)
		}
		if r.runner.Layers().Namespaces && !strings.Contains(out, "cwd /home/student ") {
			t.Fatalf("the program's home: %s", out)
		}
		w.send(map[string]any{"type": "stdin", "id": "probe", "data": "exit()"})
		w.until("probe", protocol.MsgExit, wait)
		// A file outside the folder cannot be run; the REPL works.
		w.send(map[string]any{"type": "run", "id": "out", "path": "Local/alice/notes.py"})
		if m := w.next("out", wait); m.Type != protocol.MsgError || m.Code != "forbidden" || m.Message != exam.Refusal {
			t.Fatalf("running a file outside the folder: %+v", m)
		}
		w.send(map[string]any{"type": "repl", "id": "repl"})
		w.until("repl", protocol.MsgREPLReady, wait)
		w.send(map[string]any{"type": "stdin", "id": "repl", "data": "import os; print(sorted(os.listdir('.')))\n"})
		if out, _, _ := w.until("repl", protocol.MsgREPLReady, wait); strings.Contains(out, "notes") || !strings.Contains(out, "q1.py") {
			t.Fatalf("the REPL's folder: %q", out)
		}
		// A disconnected student loses nothing: a new connection goes on.
		w.close()
		w = alice.ws()
		if got := alice.get(q1); string(got.body) != "print('answer one')\n" {
			t.Fatalf("after a reconnect: %s", got.body)
		}
		w.send(map[string]any{"type": "run", "id": "again", "path": q1})
		if out, _, _ := w.until("again", protocol.MsgREPLReady, wait); out != "answer one\n" {
			t.Fatalf("a run after a reconnect: %q", out)
		}

		// Folders, moves and deletes inside work, and are logged.
		wantStatus(t, "mkdir", alice.do("POST", "/api/files/mkdir", map[string]any{"path": "Local/alice/final/scratch"}, nil), 201)
		wantStatus(t, "save in it", alice.put("Local/alice/final/scratch/tmp.py", "x = 1\n"), 200)
		wantStatus(t, "move", alice.do("POST", "/api/files/move", map[string]any{"from": "Local/alice/final/scratch/tmp.py", "to": "Local/alice/final/scratch/tmp2.py"}, nil), 200)
		wantStatus(t, "delete", alice.do("DELETE", "/api/files?path="+qp("Local/alice/final/scratch"), nil, nil), 204)

		// The log and the live view.
		login := r.login("alice") // a login during the exam is logged, and the older session ends
		waitUntil(t, "the older session to end", func() bool { return alice.do("GET", "/api/me", nil, nil).status == 401 })
		alice = login
		var evs struct {
			Events []exam.Event
			Next   int64
		}
		prof.do("GET", "/api/admin/exams/final/events", nil, nil).json(t, &evs)
		kinds := map[string]int{}
		for _, e := range evs.Events {
			kinds[e.Kind]++
			if e.Username != "alice" {
				t.Fatalf("an event of someone else: %+v", e)
			}
		}
		if kinds["save"] < 3 || kinds["run"] != 2 || kinds["repl"] != 1 || kinds["login"] != 1 || kinds["denied"] < 9*13 ||
			kinds["copy"] != 1 || kinds["mkdir"] != 1 || kinds["move"] != 1 || kinds["delete"] != 1 {
			t.Fatalf("the log: %v", kinds)
		}
		var page struct{ Events []exam.Event }
		prof.do("GET", fmt.Sprintf("/api/admin/exams/final/events?after=%d&limit=2", evs.Events[0].ID), nil, nil).json(t, &page)
		if len(page.Events) != 2 || page.Events[0].ID != evs.Events[1].ID {
			t.Fatalf("a page of the log: %+v", page.Events)
		}
		var v exam.View
		prof.do("GET", "/api/admin/exams/final", nil, nil).json(t, &v)
		if len(v.Live) != 1 || !v.Live[0].Connected || v.Live[0].LastSave == nil || v.Live[0].LastRun == nil || v.Live[0].LastLogin == nil ||
			v.Live[0].Submitted {
			t.Fatalf("live view: %+v", v.Live)
		}
		var list struct{ Exams []exam.View }
		prof.do("GET", "/api/admin/exams", nil, nil).json(t, &list)
		if len(list.Exams) != 1 || list.Exams[0].ID != "final" || list.Exams[0].Live != nil {
			t.Fatalf("list: %+v", list)
		}

		// The end: handed in, read-only, the rest of the home open again.
		res = prof.do("POST", "/api/admin/exams/final/end", nil, nil)
		wantStatus(t, "end", res, http.StatusOK)
		res.json(t, &v)
		if v.State != "ended" || v.Live[0].Final == "" {
			t.Fatalf("ended: %s", res.body)
		}
		x := graded(t, prof, v.Live[0].Final)
		if x.Files < 4 || x.Late {
			t.Fatalf("the final submission: %+v", x)
		}
		if res := alice.put(q1, "late"); res.status != 403 || !strings.Contains(refusal(t, res), "is over") {
			t.Fatalf("a save after the end: %d %s", res.status, res.body)
		}
		wantStatus(t, "delete after the end", alice.do("DELETE", "/api/files?path="+qp(q1), nil, nil), 403)
		wantStatus(t, "read after the end", alice.get(q1), 200)
		wantStatus(t, "the home after the end", alice.get("Local/alice/notes.py"), 200)
		wantStatus(t, "a save elsewhere after the end", alice.put("Local/alice/after.py", "print('free')\n"), 200)
		wantStatus(t, "submitting after the end", alice.do("POST", "/api/assignments/final/submit", nil, nil), http.StatusConflict)
		alice.do("GET", "/api/exam", nil, nil).json(t, &mine)
		if mine.Exam != nil {
			t.Fatalf("an exam after the end: %+v", mine.Exam)
		}
		w.close()
		if r.runner.Layers().Namespaces { // bubblewrap mounts the folder read-only in the home
			w = alice.ws()
			alice.runSource(w, "late", "late.py", `try:
    open("final/q1.py", "w").write("changed")
    print("WROTE")
except OSError as e:
    print("read-only", type(e).__name__)
`)
			if out, _, _ := w.until("late", protocol.MsgREPLReady, wait); !strings.Contains(out, "read-only") {
				t.Fatalf("a program changed the folder after the end: %q", out)
			}
		}
		if got := alice.get(q1); string(got.body) != "print('answer one')\n" {
			t.Fatalf("the folder changed after the end: %q", got.body)
		}
	})
}

// Under Landlock alone a program sees its home whole, the exam folder
// included, so no mount can make that folder read-only after the end: the
// end takes it from the programs' user (workspace.Seal), and a program of
// the student's can then write the rest of the home but nothing in it.
func TestExamFolderReadOnlyToProgramsUnderLandlock(t *testing.T) {
	r := examRig(t, storetest.SQLite(t), func(c *config.Config) { c.NoNamespaces = true })
	if l := r.runner.Layers(); !l.Landlock || l.Namespaces || !l.UIDDrop {
		t.Skipf("needs Landlock without namespaces and programs under their own uid (root): %s", l)
	}
	r.user("prof", store.RoleProfessor)
	r.user("alice", store.RoleStudent)
	prof, alice := r.login("prof"), r.login("alice")
	res := prof.do("POST", "/api/admin/exams", map[string]any{"id": "final", "title": "Final", "users": []string{"alice"}, "minutes": 30}, nil)
	wantStatus(t, "start", res, http.StatusCreated)
	const q1 = "Local/alice/final/q1.py"
	wantStatus(t, "a save in the exam", alice.put(q1, "print('answer')\n"), 200)
	var v exam.View
	res = prof.do("POST", "/api/admin/exams/final/end", nil, nil)
	wantStatus(t, "end", res, http.StatusOK)
	res.json(t, &v)
	if v.State != "ended" || v.Live[0].Final == "" {
		t.Fatalf("ended: %s", res.body)
	}
	w := alice.ws()
	alice.runSource(w, "late", "late.py", `import os
for name in ("final/q1.py", "final/new.py"):
    try:
        open(name, "w").write("changed")
        print("WROTE", name)
    except OSError as e:
        print("refused", name, type(e).__name__)
try:
    os.remove("final/q1.py")
    print("REMOVED")
except OSError as e:
    print("refused remove", type(e).__name__)
open("after.txt", "w").write("free")
print("home ok")
`)
	out, _, _ := w.until("late", protocol.MsgREPLReady, wait)
	for _, want := range []string{"refused final/q1.py PermissionError", "refused final/new.py PermissionError", "refused remove PermissionError", "home ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("after the end, want %q from the program:\n%s", want, out)
		}
	}
	if got := alice.get(q1); string(got.body) != "print('answer')\n" {
		t.Fatalf("the folder changed after the end: %q", got.body)
	}
}
