package exam_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/exam"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/workspace"
)

var prof = workspace.Actor{Username: "teacher", Professor: true}

// class is a store with a teacher and three students, a workspace, a
// clock the test moves, and services made by svc sharing them, as
// instances sharing the database and data volume do.
type class struct {
	t   *testing.T
	st  *store.Store
	ws  *workspace.Workspace
	dir string
	mu  sync.Mutex
	now time.Time
}

func newClass(t *testing.T, st *store.Store) *class {
	t.Helper()
	root := t.TempDir()
	ws, err := workspace.Open(filepath.Join(root, "ide"), workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &class{t: t, st: st, ws: ws, dir: filepath.Join(root, "submissions"), now: time.Date(2026, 12, 9, 8, 0, 0, 0, time.UTC)}
	r := &roster.Roster{Store: st, Workspace: ws}
	for _, u := range []roster.NewUser{{Username: "teacher", Role: store.RoleProfessor, FullName: "T"},
		{Username: "alice", Role: store.RoleStudent, FullName: "Alice A"}, {Username: "bob", Role: store.RoleStudent},
		{Username: "carol", Role: store.RoleStudent}} {
		if _, err := r.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	c.mkdir("Local/teacher/final-starter")
	c.write(prof, "Local/teacher/final-starter/q1.py", "# question 1\n")
	c.mkdir("Lecture Notes")
	return c
}

func (c *class) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *class) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *class) mkdir(p string) {
	c.t.Helper()
	if err := c.ws.Mkdir(prof, p); err != nil {
		c.t.Fatal(err)
	}
}

func (c *class) write(a workspace.Actor, p, text string) error {
	c.t.Helper()
	_, err := c.ws.Write(a, p, strings.NewReader(text), "")
	if err != nil && a.Professor {
		c.t.Fatal(err)
	}
	return err
}

// refits records what the service asked the runner.
type refits struct {
	mu  sync.Mutex
	got map[string]*workspace.Limits
	msg map[string]string
}

func (r *refits) Refit(u runner.User, message string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[u.Name], r.msg[u.Name] = u.Limits, message
	return 0
}

func (r *refits) of(user string) (*workspace.Limits, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[user], r.msg[user]
}

// svc is one instance: its assignments and exams.
func (c *class) svc(instance string, rf exam.Refitter) (*exam.Service, *assignment.Service) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := assignment.New(c.st, c.ws, assignment.Options{Dir: c.dir, Now: c.clock}, log)
	return exam.New(c.st, c.ws, as, exam.Options{Instance: instance, Runner: rf, Now: c.clock, Every: 5 * time.Millisecond,
		Grace: -1, CacheFor: time.Millisecond, Beat: time.Hour}, log), as
}

func ptr[T any](v T) *T { return &v }

func input(id string, users []string, minutes int) exam.Input {
	return exam.Input{Input: assignment.Input{ID: ptr(id), Title: ptr("The " + id), Starter: ptr("Local/teacher/final-starter")},
		Users: users, Minutes: minutes}
}

func wantKind(t *testing.T, what string, err, kind error, says string) {
	t.Helper()
	msg, _ := fault.Message(err)
	if !errors.Is(err, kind) || !strings.Contains(msg, says) {
		t.Fatalf("%s: got %v, want %v saying %q", what, err, kind, says)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An exam from the start to the end on both stores: refused inputs, the
// folders handed out (what was there before moved aside), the fence while
// it lasts and the read-only folder after, the log and the live view,
// programs refitted, and every folder handed in once at the end though two
// instances race to end it.
func TestExamLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClass(t, st)
		rf := &refits{got: map[string]*workspace.Limits{}, msg: map[string]string{}}
		s1, as := c.svc("i1", rf)
		s2, _ := c.svc("i2", nil)

		for what, in := range map[string]exam.Input{
			"no students":      input("x1", nil, 60),
			"a teacher":        input("x2", []string{"alice", "teacher"}, 60),
			"nobody":           input("x3", []string{"zed"}, 60),
			"no end":           input("x4", []string{"alice"}, 0),
			"both ends":        {Input: input("x5", []string{"alice"}, 60).Input, Users: []string{"alice"}, Minutes: 60, EndsAt: "2026-12-09T10:00"},
			"past":             {Input: input("x6", []string{"alice"}, 0).Input, Users: []string{"alice"}, EndsAt: "2026-12-09T07:00"},
			"too long":         input("x7", []string{"alice"}, 25*60),
			"unreadable start": {Input: input("x8", []string{"alice"}, 0).Input, Users: []string{"alice"}, Minutes: 5, StartsAt: "soon"},
		} {
			_, _, err := s1.Start(ctx, prof, in)
			wantKind(t, what, err, exam.ErrInvalid, "")
		}
		if as, _ := as.List(ctx, false); len(as) != 0 {
			t.Fatalf("a refused exam left an assignment: %+v", as)
		}

		// Before the exam alice has a folder of that name, with a link
		// planted in it: it is moved aside, and the exam folder is fresh.
		c.mkdir("Local/alice/final")
		c.write(prof, "Local/alice/final/prepared.py", "# answers prepared at home\n")
		if err := os.Symlink("..", filepath.Join(c.ws.HomePath("alice"), "final", "up")); err != nil {
			t.Fatal(err)
		}
		e, rep, err := s1.Start(ctx, prof, input("final", []string{"alice", "bob", "carol", "alice"}, 90))
		if err != nil {
			t.Fatal(err)
		}
		if rep == nil || rep.Copied != 3 || rep.Failed != 0 || e.OpenedAt.IsZero() || !e.EndsAt.Equal(c.clock().Add(90*time.Minute)) {
			t.Fatalf("started: %+v %+v", e, rep)
		}
		if a, _ := as.Get(ctx, "final"); !a.DueAt.Equal(e.EndsAt) || a.LateMinutes != 0 || a.PublishedAt.IsZero() {
			t.Fatalf("the exam's assignment: %+v", a)
		}
		if es, _ := c.ws.List(prof, "Local/alice/final"); len(es) != 1 || es[0].Name != "q1.py" {
			t.Fatalf("alice's exam folder: %+v", es)
		}
		if es, _ := c.ws.List(prof, "Local/alice/final-before-exam"); len(es) != 2 {
			t.Fatalf("what alice had before, moved aside: %+v", es)
		}
		_, _, err = s1.Start(ctx, prof, input("final", []string{"bob"}, 30))
		wantKind(t, "the same id", err, exam.ErrConflict, "")
		_, _, err = s2.Start(ctx, prof, input("other", []string{"dave", "bob"}, 30))
		wantKind(t, "an unknown student", err, exam.ErrInvalid, "dave")
		_, _, err = s2.Start(ctx, prof, input("other", []string{"bob"}, 30))
		wantKind(t, "bob in two exams at once", err, exam.ErrConflict, "student bob sits the exam")

		// During it: the fence, from either instance.
		for _, s := range []*exam.Service{s1, s2} {
			lim, err := s.Limits(ctx, "alice")
			if err != nil || lim == nil || lim.Fence != "Local/alice/final" || lim.Courses || lim.Refusal != exam.Refusal {
				t.Fatalf("alice's limits: %+v %v", lim, err)
			}
		}
		if lim, _ := s1.Limits(ctx, "teacher"); lim != nil {
			t.Fatalf("the teacher is limited: %+v", lim)
		}
		alice := workspace.Actor{Username: "alice"}
		alice.Limits, _ = s1.Limits(ctx, "alice")
		if err := c.write(alice, "Local/alice/final/q1.py", "print('answer 1')\n"); err != nil {
			t.Fatal(err)
		}
		wantKind(t, "alice's other files", c.write(alice, "Local/alice/welcome.py", "x"), workspace.ErrFenced, exam.Refusal)
		if _, _, err := c.ws.Read(alice, "Local/alice/final/up/welcome.py"); !errors.Is(err, workspace.ErrNotFound) && !errors.Is(err, workspace.ErrDenied) {
			t.Fatalf("through the planted link: %v", err)
		}
		if mine, err := s1.MineNow(ctx, "alice"); err != nil || mine == nil || mine.Folder != "Local/alice/final" || mine.RemainingSeconds != 90*60 || mine.Title != "The final" {
			t.Fatalf("alice's exam: %+v %v", mine, err)
		}
		if mine, _ := s1.MineNow(ctx, "teacher"); mine != nil {
			t.Fatalf("the teacher sits an exam: %+v", mine)
		}

		// The log and the live view.
		s2.Connected(ctx, "alice")
		s1.Note(ctx, "alice", "login", "10.0.0.7")
		c.advance(time.Minute)
		s1.Note(ctx, "alice", "save", "Local/alice/final/q1.py")
		s2.Note(ctx, "alice", "run", "Local/alice/final/q1.py")
		s1.Note(ctx, "bob", "denied", "GET /api/files/content?path=Local/bob/welcome.py")
		s1.Note(ctx, "teacher", "save", "Local/teacher/x.py") // sits no exam: not logged
		if _, err := as.Submit(ctx, workspace.Actor{Username: "carol"}, "final"); err != nil {
			t.Fatal(err)
		}
		v, err := s1.Get(ctx, "final")
		if err != nil || v.State != "open" || v.Title != "The final" || len(v.Live) != 3 || strings.Join(v.Students, ",") != "alice,bob,carol" {
			t.Fatalf("live view: %+v %v", v, err)
		}
		a, b, cl := v.Live[0], v.Live[1], v.Live[2]
		if !a.Connected || a.FullName != "Alice A" || a.LastLogin == nil || a.LastSave == nil || !a.LastSave.Equal(c.clock()) || a.LastRun == nil ||
			a.Saves != 1 || a.Runs != 1 || a.Submitted || b.Connected || b.Denied != 1 || b.LastSave != nil || !cl.Submitted || cl.Submissions != 1 {
			t.Fatalf("live rows: %+v", v.Live)
		}
		evs, err := s1.Events(ctx, "final", "", 0, 100)
		if err != nil || len(evs) != 4 || evs[0].Kind != "login" || evs[3].Username != "bob" {
			t.Fatalf("events: %+v %v", evs, err)
		}
		s2.Disconnected(ctx, "alice")
		if v, _ := s1.Get(ctx, "final"); v.Live[0].Connected || v.Live[0].SeenAt == nil {
			t.Fatalf("alice still connected: %+v", v.Live[0])
		}

		// Running: both instances refit their programs to the fence.
		run, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, s := range []*exam.Service{s1, s2} {
			wg.Add(1)
			go func() { defer wg.Done(); s.Run(run) }()
		}
		defer func() { cancel(); wg.Wait() }()
		waitFor(t, "alice's programs refitted to the fence", func() bool {
			lim, msg := rf.of("alice")
			return lim != nil && lim.Fence == "Local/alice/final" && strings.Contains(msg, "exam has begun")
		})

		// The end: each folder handed in once (bob's too, who never
		// submitted; carol's again), then read-only.
		c.advance(90 * time.Minute)
		waitFor(t, "the end", func() bool {
			e, _ := st.GetExam(ctx, "final")
			return !e.FinishedAt.IsZero()
		})
		subs, _ := as.Submissions(ctx, "final", "")
		per := map[string]int{}
		for _, x := range subs {
			per[x.Username]++
			if x.Late {
				t.Fatalf("the end's snapshot is late: %+v", x)
			}
		}
		if per["alice"] != 1 || per["bob"] != 1 || per["carol"] != 2 {
			t.Fatalf("submissions at the end: %v", per)
		}
		studs, _ := st.ExamStudents(ctx, "final")
		for _, x := range studs {
			if x.Final == "" {
				t.Fatalf("%s has no final submission", x.Username)
			}
		}
		alice.Limits, _ = s2.Limits(ctx, "alice")
		if alice.Limits == nil || alice.Limits.Fence != "" || len(alice.Limits.ReadOnly) != 1 {
			t.Fatalf("alice's limits after the end: %+v", alice.Limits)
		}
		wantKind(t, "a save after the end", c.write(alice, "Local/alice/final/q1.py", "late"), workspace.ErrDenied, "is over")
		if err := c.write(alice, "Local/alice/welcome.py", "# mine again\n"); err != nil {
			t.Fatalf("the rest of the home after the end: %v", err)
		}
		_, err = as.Submit(ctx, workspace.Actor{Username: "alice"}, "final")
		wantKind(t, "a submission after the end", err, assignment.ErrClosed, "closed")
		waitFor(t, "alice's programs refitted after the end", func() bool {
			lim, msg := rf.of("alice")
			return lim != nil && lim.Fence == "" && msg == "Stopped: the exam is over."
		})
		if v, _ := s1.Get(ctx, "final"); v.State != "ended" || v.Live[1].Final == "" {
			t.Fatalf("after the end: %+v", v)
		}
		if evs, _ := s1.Events(ctx, "final", "bob", 0, 100); len(evs) != 2 || evs[1].Kind != "submit" || !strings.Contains(evs[1].Detail, "at the end") {
			t.Fatalf("bob's log: %+v", evs)
		}
		if mine, _ := s1.MineNow(ctx, "alice"); mine != nil {
			t.Fatalf("alice sits an exam that is over: %+v", mine)
		}
	})
}

// A scheduled exam opens when its time comes, with the course notes; ended
// early by the teacher it hands in at once, skipping a student with no
// folder; one that never began is never opened.
func TestExamScheduledAndEndedEarly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClass(t, st)
		s, as := c.svc("i1", nil)
		in := input("quiz", []string{"alice", "bob"}, 30)
		in.StartsAt, in.CourseNotes = "2026-12-09T10:00", true
		in.TimeZone = ptr("Europe/Berlin") // 09:00 UTC
		e, rep, err := s.Start(ctx, prof, in)
		if err != nil || rep != nil || !e.StartsAt.Equal(time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)) || !e.OpenedAt.IsZero() {
			t.Fatalf("scheduled: %+v %+v %v", e, rep, err)
		}
		if lim, _ := s.Limits(ctx, "alice"); lim != nil {
			t.Fatalf("limited before the exam: %+v", lim)
		}
		if _, err := c.ws.Stat(prof, "Local/alice/quiz"); !errors.Is(err, workspace.ErrNotFound) {
			t.Fatalf("the folder was handed out before the exam: %v", err)
		}
		if v, _ := s.List(ctx); len(v) != 1 || v[0].State != "scheduled" || v[0].Minutes != 30 {
			t.Fatalf("list: %+v", v)
		}
		run, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(run); close(done) }()
		defer func() { cancel(); <-done }()

		c.advance(time.Hour) // 09:00
		waitFor(t, "the opening", func() bool {
			e, _ := st.GetExam(ctx, "quiz")
			return !e.OpenedAt.IsZero()
		})
		lim, _ := s.Limits(ctx, "alice")
		if lim == nil || !lim.Courses || lim.Refusal != exam.RefusalWithNotes {
			t.Fatalf("with course notes: %+v", lim)
		}
		if mine, _ := s.MineNow(ctx, "alice"); mine == nil || !mine.CourseNotes || len(mine.Courses) != 1 || mine.Courses[0] != "Lecture Notes" {
			t.Fatalf("alice's exam: %+v", mine)
		}
		// bob's folder is gone (a teacher removed it): nothing to hand in.
		if err := c.ws.Delete(prof, "Local/bob/quiz"); err != nil {
			t.Fatal(err)
		}
		c.advance(10 * time.Minute)
		e, err = s.End(ctx, "quiz")
		if err != nil || e.FinishedAt.IsZero() || !e.EndsAt.Equal(c.clock()) {
			t.Fatalf("ended early: %+v %v", e, err)
		}
		if a, _ := as.Get(ctx, "quiz"); !a.DueAt.Equal(c.clock()) {
			t.Fatalf("the due date after an early end: %v", a.DueAt)
		}
		subs, _ := as.Submissions(ctx, "quiz", "")
		if len(subs) != 1 || subs[0].Username != "alice" {
			t.Fatalf("handed in: %+v", subs)
		}
		if _, err := s.End(ctx, "quiz"); err != nil {
			t.Fatalf("ending again: %v", err)
		}
		if _, err := s.End(ctx, "nope"); !errors.Is(err, exam.ErrNotFound) {
			t.Fatalf("ending no exam: %v", err)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, exam.ErrNotFound) {
			t.Fatalf("no exam: %v", err)
		}

		// Ended before it began: never opened, nobody limited.
		in = input("later", []string{"alice"}, 30)
		in.StartsAt = "2026-12-10T09:00"
		if _, _, err := s.Start(ctx, prof, in); err != nil {
			t.Fatal(err)
		}
		if _, err := s.End(ctx, "later"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a few of Run's steps
		if e, _ := st.GetExam(ctx, "later"); !e.OpenedAt.IsZero() || e.FinishedAt.IsZero() {
			t.Fatalf("an exam ended before it began: %+v", e)
		}
		if _, err := c.ws.Stat(prof, "Local/alice/later"); !errors.Is(err, workspace.ErrNotFound) {
			t.Fatalf("handed out after it ended: %v", err)
		}
		// An existing assignment sat as an exam.
		if _, err := as.Create(ctx, prof, assignment.Input{ID: ptr("hw9"), Title: ptr("Homework 9"), DueAt: ptr("2026-12-20T09:00"), LateMinutes: ptr(60)}); err != nil {
			t.Fatal(err)
		}
		e, _, err = s.Start(ctx, prof, exam.Input{Assignment: "hw9", Users: []string{"carol"}, Minutes: 20})
		if err != nil || e.OpenedAt.IsZero() {
			t.Fatalf("an existing assignment as an exam: %+v %v", e, err)
		}
		if a, _ := as.Get(ctx, "hw9"); !a.DueAt.Equal(e.EndsAt) || a.LateMinutes != 0 {
			t.Fatalf("its due date: %+v", a)
		}
	})
}
