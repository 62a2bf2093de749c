package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

func TestAssignmentsAndTests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		due := time.Date(2026, 12, 9, 17, 0, 0, 0, time.UTC)
		a := store.Assignment{ID: "week3", Title: "Loops", Instructions: "# Loops", Starter: "Local/prof/week3",
			DueAt: due, TimeZone: "Europe/Paris", LateMinutes: 60, Feedback: "all", TestSeconds: 10,
			Points: map[string]float64{"test_a.py::test_sum": 2}, CreatedBy: "prof"}
		if err := s.CreateAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAssignment(ctx, a); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second week3: %v", err)
		}
		got, err := s.GetAssignment(ctx, "week3")
		if err != nil || got.Title != "Loops" || !got.DueAt.Equal(due) || got.Points["test_a.py::test_sum"] != 2 || !got.PublishedAt.IsZero() {
			t.Fatalf("GetAssignment = %+v, %v", got, err)
		}
		if list, _ := s.ListAssignments(ctx, true); len(list) != 0 {
			t.Fatalf("unpublished listed as published: %+v", list)
		}
		at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		if err := s.PublishAssignment(ctx, "week3", at); err != nil {
			t.Fatal(err)
		}
		s.PublishAssignment(ctx, "week3", at.Add(time.Hour)) // the first publication stays
		if list, _ := s.ListAssignments(ctx, true); len(list) != 1 || !list[0].PublishedAt.Equal(at) {
			t.Fatalf("published: %+v", list)
		}
		got.Title, got.LateMinutes = "Loops and lists", 0
		if err := s.UpdateAssignment(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetAssignment(ctx, "week3"); got.Title != "Loops and lists" || got.LateMinutes != 0 || !got.PublishedAt.Equal(at) {
			t.Fatalf("after update: %+v", got)
		}
		if err := s.UpdateAssignment(ctx, store.Assignment{ID: "nope", Feedback: "all"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing one: %v", err)
		}
		for _, tf := range []store.TestFile{{"test_b.py", "assert True"}, {"test_a.py", "assert 1"}, {"test_a.py", "assert 2"}} {
			if err := s.PutTest(ctx, "week3", tf); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutTest(ctx, "nope", store.TestFile{"t.py", ""}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a test of a missing assignment: %v", err)
		}
		if ts, _ := s.Tests(ctx, "week3"); len(ts) != 2 || ts[0].Name != "test_a.py" || ts[0].Content != "assert 2" {
			t.Fatalf("tests: %+v", ts)
		}
		if err := s.DeleteTest(ctx, "week3", "test_b.py"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAssignment(ctx, "week3"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := s.Tests(ctx, "week3"); len(ts) != 0 {
			t.Fatalf("tests outlived their assignment: %+v", ts)
		}
	})
}

func TestSubmissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "hw", Title: "HW", DueAt: time.Now(), TimeZone: "UTC", Feedback: "all", CreatedBy: "p"}); err != nil {
			t.Fatal(err)
		}
		// Concurrent submissions of one student get distinct numbers, and
		// the bound holds.
		var wg sync.WaitGroup
		seqs := make(chan int, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := s.AddSubmission(ctx, store.Submission{ID: "s" + string(rune('a'+i)), Assignment: "hw", Username: "ann", SubmittedAt: time.Now(), Files: 1, Bytes: 10}, 5)
					if errors.Is(err, store.ErrExists) {
						continue
					}
					if err == nil {
						seqs <- n
					} else if !errors.Is(err, store.ErrLimit) {
						t.Error(err)
					}
					return
				}
			}()
		}
		wg.Wait()
		close(seqs)
		seen := map[int]bool{}
		for n := range seqs {
			seen[n] = true
		}
		if len(seen) != 5 || !seen[1] || !seen[5] {
			t.Fatalf("seqs %v: want 1..5", seen)
		}
		if _, err := s.AddSubmission(ctx, store.Submission{ID: "x", Assignment: "nope", Username: "ann", SubmittedAt: time.Now()}, 5); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a submission to no assignment: %v", err)
		}
		n, err := s.AddSubmission(ctx, store.Submission{ID: "b1", Assignment: "hw", Username: "bob", SubmittedAt: time.Now(), Late: true, Files: 2, Bytes: 20}, 5)
		if err != nil || n != 1 {
			t.Fatalf("bob's first: %d %v", n, err)
		}
		res := json.RawMessage(`[{"test":"t.py::test_x","outcome":"passed","points":1}]`)
		if err := s.SetGrade(ctx, "b1", "done", 1, 2, res, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.SetComment(ctx, "b1", "Nice"); err != nil {
			t.Fatal(err)
		}
		x, err := s.GetSubmission(ctx, "b1")
		if err != nil || !x.Late || x.GradeState != "done" || x.Score != 1 || x.MaxScore != 2 || x.Comment != "Nice" || x.GradedAt.IsZero() {
			t.Fatalf("bob's submission: %+v %v", x, err)
		}
		var r []map[string]any
		if json.Unmarshal(x.Results, &r) != nil || len(r) != 1 || r[0]["outcome"] != "passed" {
			t.Fatalf("results %s", x.Results)
		}
		anns, _ := s.Submissions(ctx, "hw", "ann")
		if len(anns) != 5 {
			t.Fatalf("ann's: %d", len(anns))
		}
		if err := s.ChooseSubmission(ctx, anns[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.ChooseSubmission(ctx, anns[3].ID); err != nil {
			t.Fatal(err)
		}
		anns, _ = s.Submissions(ctx, "hw", "ann")
		for i, a := range anns {
			if a.Chosen != (i == 3) {
				t.Errorf("submission %d chosen %v", i, a.Chosen)
			}
		}
		if all, _ := s.Submissions(ctx, "", ""); len(all) != 6 {
			t.Fatalf("all submissions: %d", len(all))
		}
		if err := s.SetGrade(ctx, "nope", "done", 0, 0, nil, time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("grading a missing one: %v", err)
		}
	})
}

// The grading queue: oldest first, each submission to one grader even when
// several claim at once, a dead grader's claim given back after it goes
// stale, and a grade written only by the grader that still holds it.
func TestGradingQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "hw", Title: "HW", DueAt: time.Now(), TimeZone: "UTC", Feedback: "all", CreatedBy: "p"}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().Add(-time.Hour)
		for i := range 6 {
			x := store.Submission{ID: "s" + strconv.Itoa(i), Assignment: "hw", Username: "u" + strconv.Itoa(i), SubmittedAt: t0.Add(time.Duration(i) * time.Second), GradeState: "queued"}
			if _, err := s.AddSubmission(ctx, x, 5); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		stale := now.Add(-time.Minute)
		var mu sync.Mutex
		var wg sync.WaitGroup
		got := map[string]string{}
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				by := "g" + strconv.Itoa(g)
				for {
					x, ok, err := s.ClaimGrading(ctx, by, now, stale)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					if other, dup := got[x.ID]; dup {
						t.Errorf("%s taken by %s and %s", x.ID, other, by)
					}
					got[x.ID] = by
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(got) != 6 {
			t.Fatalf("claimed %v, want all 6", got)
		}
		if _, ok, _ := s.ClaimGrading(ctx, "late", now, stale); ok {
			t.Fatal("a submission claimed twice")
		}
		// Requeued while g's grading runs: g's grade is not written, and
		// the submission is graded again.
		if n, err := s.QueueGrading(ctx, "", "s0"); err != nil || n != 1 {
			t.Fatalf("requeue: %d %v", n, err)
		}
		if ok, err := s.FinishGrading(ctx, "s0", got["s0"], "done", 1, 1, nil, now); err != nil || ok {
			t.Fatalf("a grade of a requeued submission was written: %v %v", ok, err)
		}
		x, ok, err := s.ClaimGrading(ctx, "h", now, stale)
		if err != nil || !ok || x.ID != "s0" || x.GradeState != "running" {
			t.Fatalf("the requeued one: %+v %v %v", x, ok, err)
		}
		if ok, err := s.FinishGrading(ctx, "s0", "h", "done", 2, 3, json.RawMessage(`[{"test":"t"}]`), now); err != nil || !ok {
			t.Fatalf("finishing: %v %v", ok, err)
		}
		if x, _ := s.GetSubmission(ctx, "s0"); x.GradeState != "done" || x.Score != 2 || x.MaxScore != 3 {
			t.Fatalf("graded: %+v", x)
		}
		// A claim older than stale is given to the next grader.
		later := now.Add(2 * time.Minute)
		x, ok, err = s.ClaimGrading(ctx, "k", later, later.Add(-time.Minute))
		if err != nil || !ok || x.ID != "s1" {
			t.Fatalf("a stale claim: %+v %v %v", x, ok, err)
		}
		if ok, _ := s.FinishGrading(ctx, "s1", got["s1"], "done", 1, 1, nil, later); ok {
			t.Fatal("the grader that lost its claim wrote a grade")
		}
		if n, err := s.QueueGrading(ctx, "hw", ""); err != nil || n != 6 {
			t.Fatalf("regrade all: %d %v", n, err)
		}
	})
}
