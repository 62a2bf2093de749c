package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// An exam's records on both backends: created with its students once, its
// start and end each claimed by one instance (a stale claim taken over),
// ended early, presence, final submissions, the log and the activity the
// live view reads.
func TestExamRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, u := range []string{"prof", "alice", "bob"} {
			role := store.RoleStudent
			if u == "prof" {
				role = store.RoleProfessor
			}
			if err := s.CreateUser(ctx, store.User{Username: u, PasswordHash: "h", Role: role, Active: true}); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)
		end := start.Add(90 * time.Minute)
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "final", Title: "Final", DueAt: end, TimeZone: "UTC",
			Feedback: "all", TestSeconds: 10, CreatedBy: "prof"}); err != nil {
			t.Fatal(err)
		}
		e := store.Exam{Assignment: "final", StartsAt: start, EndsAt: end, CourseNotes: true, CreatedBy: "prof"}
		if err := s.CreateExam(ctx, store.Exam{Assignment: "nope", StartsAt: start, EndsAt: end, CreatedBy: "prof"}, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an exam of no assignment: %v", err)
		}
		if err := s.CreateExam(ctx, e, []string{"alice", "nobody"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an exam of an unknown student: %v", err)
		}
		if _, err := s.GetExam(ctx, "final"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused exam was half recorded: %v", err)
		}
		if err := s.CreateExam(ctx, e, []string{"alice", "bob"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateExam(ctx, e, []string{"alice"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second exam of one assignment: %v", err)
		}
		got, err := s.GetExam(ctx, "final")
		if err != nil || !got.StartsAt.Equal(start) || !got.EndsAt.Equal(end) || !got.CourseNotes || got.CreatedBy != "prof" ||
			!got.StartedAt.IsZero() || !got.OpenedAt.IsZero() || !got.EndedAt.IsZero() || !got.FinishedAt.IsZero() {
			t.Fatalf("GetExam = %+v, %v", got, err)
		}
		if list, err := s.ListExams(ctx); err != nil || len(list) != 1 || list[0].Assignment != "final" {
			t.Fatalf("ListExams = %+v, %v", list, err)
		}
		studs, err := s.ExamStudents(ctx, "")
		if err != nil || len(studs) != 2 || studs[0].Username != "alice" || studs[1].Username != "bob" || studs[0].Connected || studs[0].Final != "" {
			t.Fatalf("ExamStudents = %+v, %v", studs, err)
		}

		// The start: not before its time, then once among instances racing.
		if ok, err := s.ClaimExamStart(ctx, "final", "i1", start.Add(-time.Second), start.Add(-time.Hour)); ok || err != nil {
			t.Fatalf("claimed a start before its time: %v %v", ok, err)
		}
		var wins sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for _, by := range []string{"i1", "i2", "i3", "i4"} {
			wins.Add(1)
			go func() {
				defer wins.Done()
				ok, err := s.ClaimExamStart(ctx, "final", by, start.Add(time.Second), start.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wins.Wait()
		if won != 1 {
			t.Fatalf("%d instances claimed the start", won)
		}
		// A claim left for longer than stale is taken over; a done one never.
		if ok, _ := s.ClaimExamStart(ctx, "final", "i5", start.Add(3*time.Second), start.Add(2*time.Second)); !ok {
			t.Fatal("a stale start claim was not taken over")
		}
		if err := s.ExamOpened(ctx, "final", start.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.ClaimExamStart(ctx, "final", "i6", start.Add(time.Hour), start.Add(time.Hour)); ok {
			t.Fatal("an opened exam was opened again")
		}

		// Presence and the log.
		if err := s.SetExamPresence(ctx, "final", "alice", true, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetExamPresence(ctx, "final", "carol", true, start); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("presence of a stranger: %v", err)
		}
		for i, ev := range []store.ExamEvent{
			{Username: "alice", Kind: "login"}, {Username: "alice", Kind: "save", Detail: "Local/alice/final/a.py"},
			{Username: "bob", Kind: "denied", Detail: "GET Local/bob/notes.py"}, {Username: "alice", Kind: "save", Detail: "Local/alice/final/b.py"},
			{Username: "alice", Kind: "run", Detail: "Local/alice/final/a.py"},
		} {
			ev.Exam, ev.At = "final", start.Add(time.Duration(i+1)*time.Minute)
			if err := s.AddExamEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddExamEvent(ctx, store.ExamEvent{Exam: "final", Username: "alice", Kind: "dance", At: start}); err == nil {
			t.Fatal("an event of an unknown kind was kept")
		}
		if err := s.AddExamEvent(ctx, store.ExamEvent{Exam: "nope", Username: "alice", Kind: "save", At: start}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an event of no exam: %v", err)
		}
		evs, err := s.ExamEvents(ctx, "final", "", 0, 100)
		if err != nil || len(evs) != 5 || evs[0].Kind != "login" || evs[4].Kind != "run" || evs[2].Username != "bob" ||
			!evs[1].At.Equal(start.Add(2*time.Minute)) || evs[1].Detail != "Local/alice/final/a.py" {
			t.Fatalf("ExamEvents = %+v, %v", evs, err)
		}
		if page, _ := s.ExamEvents(ctx, "final", "", evs[1].ID, 2); len(page) != 2 || page[0].ID != evs[2].ID {
			t.Fatalf("a page after %d: %+v", evs[1].ID, page)
		}
		if bobs, _ := s.ExamEvents(ctx, "final", "bob", 0, 100); len(bobs) != 1 || bobs[0].Kind != "denied" {
			t.Fatalf("bob's events: %+v", bobs)
		}
		act, err := s.ExamActivity(ctx, "final")
		want := map[string]store.ExamActivity{
			"alice/login": {Last: start.Add(time.Minute), Count: 1}, "alice/save": {Last: start.Add(4 * time.Minute), Count: 2},
			"alice/run": {Last: start.Add(5 * time.Minute), Count: 1}, "bob/denied": {Last: start.Add(3 * time.Minute), Count: 1},
		}
		if err != nil || len(act) != len(want) {
			t.Fatalf("ExamActivity = %+v, %v", act, err)
		}
		for _, a := range act {
			w, ok := want[a.Username+"/"+a.Kind]
			if !ok || !a.Last.Equal(w.Last) || a.Count != w.Count {
				t.Fatalf("activity %+v, want %+v", a, w)
			}
		}

		// The end: not before its time; ended early it is claimed once.
		if ok, _ := s.ClaimExamEnd(ctx, "final", "i1", start.Add(time.Hour), start); ok {
			t.Fatal("claimed the end within the window")
		}
		now := start.Add(time.Hour)
		if ok, err := s.EndExamNow(ctx, "final", now); !ok || err != nil {
			t.Fatalf("EndExamNow = %v, %v", ok, err)
		}
		if ok, err := s.EndExamNow(ctx, "final", now.Add(time.Minute)); ok || err != nil {
			t.Fatalf("ending an ended exam: %v, %v", ok, err)
		}
		if _, err := s.EndExamNow(ctx, "nope", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ending no exam: %v", err)
		}
		if got, _ := s.GetExam(ctx, "final"); !got.EndsAt.Equal(now) || !got.StartsAt.Equal(start) {
			t.Fatalf("ended early: %+v", got)
		}
		if ok, _ := s.ClaimExamEnd(ctx, "final", "i1", now, now.Add(-10*time.Minute)); !ok {
			t.Fatal("the end was not claimed")
		}
		if ok, _ := s.ClaimExamEnd(ctx, "final", "i2", now.Add(time.Minute), now.Add(-10*time.Minute)); ok {
			t.Fatal("the end was claimed twice")
		}
		if err := s.SetExamFinal(ctx, "final", "alice", "sub1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ExamFinished(ctx, "final", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.ClaimExamEnd(ctx, "final", "i3", now.Add(time.Hour), now.Add(time.Hour)); ok {
			t.Fatal("a finished exam was ended again")
		}
		got, _ = s.GetExam(ctx, "final")
		studs, _ = s.ExamStudents(ctx, "final")
		if got.EndedBy != "i1" || got.FinishedAt.IsZero() || studs[0].Final != "sub1" || !studs[0].Connected ||
			!studs[0].SeenAt.Equal(start.Add(time.Minute)) || studs[1].Final != "" {
			t.Fatalf("after the end: %+v %+v", got, studs)
		}

		// An exam ended before it began begins and ends at once, and is
		// never opened.
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "later", Title: "Later", DueAt: end, TimeZone: "UTC",
			Feedback: "all", TestSeconds: 10, CreatedBy: "prof"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateExam(ctx, store.Exam{Assignment: "later", StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour), CreatedBy: "prof"}, []string{"bob"}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.EndExamNow(ctx, "later", now); !ok {
			t.Fatal("a future exam was not ended")
		}
		if got, _ := s.GetExam(ctx, "later"); !got.StartsAt.Equal(now) || !got.EndsAt.Equal(now) {
			t.Fatalf("ended before it began: %+v", got)
		}
		if ok, _ := s.ClaimExamStart(ctx, "later", "i1", now, now); ok {
			t.Fatal("an exam that is over was opened")
		}

		// Deleting the assignment deletes its exam.
		if err := s.DeleteAssignment(ctx, "later"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetExam(ctx, "later"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the exam outlived its assignment: %v", err)
		}
	})
}

// An exam keeps only a student's newest session.
func TestKeepNewestSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		addUser(t, s, "alice")
		addUser(t, s, "bob")
		base := time.Now().UTC().Truncate(time.Second)
		for i, h := range []string{"a1", "a3", "a2"} {
			at := base.Add(time.Duration([]int{1, 3, 2}[i]) * time.Minute)
			if err := s.CreateSession(ctx, &store.Session{Username: "alice", TokenHash: h, LoginAt: at, LastActivity: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateSession(ctx, &store.Session{Username: "bob", TokenHash: "b1", LoginAt: base, LastActivity: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.KeepNewestSession(ctx, "alice"); n != 2 || err != nil {
			t.Fatalf("KeepNewestSession = %d, %v", n, err)
		}
		if _, err := s.SessionByTokenHash(ctx, "a3"); err != nil {
			t.Fatalf("the newest session went: %v", err)
		}
		for _, h := range []string{"a1", "a2"} {
			if _, err := s.SessionByTokenHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("older session %s stayed: %v", h, err)
			}
		}
		if n, _ := s.KeepNewestSession(ctx, "bob"); n != 0 {
			t.Fatalf("bob's only session ended: %d", n)
		}
		if n, _ := s.KeepNewestSession(ctx, "nobody"); n != 0 {
			t.Fatalf("sessions of nobody: %d", n)
		}
	})
}
