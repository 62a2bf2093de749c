package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

const sumTest = `import unittest
from solution import add

def test_small():
    assert add(2, 3) == 5

def test_negative():
    assert add(-2, -3) == -5, "negative numbers add up too"

class TestBig(unittest.TestCase):
    def test_big(self):
        self.assertEqual(add(10**6, 1), 1000001)
`

func wantStatus(t *testing.T, what string, res result, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: %d %s, want %d", what, res.status, res.body, status)
	}
}

// graded waits for a submission's grade as its teacher sees it.
func graded(t *testing.T, prof *client, sid string) assignment.SubmissionView {
	t.Helper()
	var v assignment.SubmissionView
	waitUntil(t, "submission "+sid+" to be graded", func() bool {
		res := prof.do("GET", "/api/admin/submissions/"+sid, nil, nil)
		res.json(t, &v)
		return v.Grade.State == assignment.Done || v.Grade.State == assignment.Failed
	})
	return v
}

// A week of homework through the API, on both stores: create with starter
// files and tests, publish without overwriting work, submit (on time, late,
// refused after the allowance), grade in the sandbox, feedback as the
// teacher chose, the teacher's pick and comment, snapshots that do not
// change, regrading, the gradebook and its CSV, and the role checks.
func TestAssignmentCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRunRigWith(t, runRigOptions{store: st})
		r.user("prof", store.RoleProfessor)
		r.user("alice", store.RoleStudent)
		r.user("bob", store.RoleStudent)
		prof, alice, bob := r.login("prof"), r.login("alice"), r.login("bob")

		wantStatus(t, "starter folder", prof.do("POST", "/api/files/mkdir", map[string]any{"path": "Local/prof/sum-starter"}, nil), http.StatusCreated)
		wantStatus(t, "starter", prof.put("Local/prof/sum-starter/solution.py", "def add(a, b):\n    pass  # your code here\n"), http.StatusOK)
		due := time.Now().Add(48 * time.Hour).In(mustZone(t, "Europe/Berlin")).Format("2006-01-02T15:04")
		var a assignment.View
		res := prof.do("POST", "/api/admin/assignments", map[string]any{
			"id": "sum", "title": "Adding numbers", "starter": "Local/prof/sum-starter", "due_at": due, "time_zone": "Europe/Berlin",
			"late_minutes": 60, "instructions": "# Add\nWrite `add`.\n<script>alert(1)</script>\n[click](javascript:alert(2))",
			"points": map[string]float64{"test_sum.py::TestBig.test_big": 3},
		}, nil)
		wantStatus(t, "create", res, http.StatusCreated)
		res.json(t, &a)
		if a.DueLocal != due || a.TimeZone != "Europe/Berlin" || a.PublishedAt != nil || !strings.Contains(a.InstructionsHTML, "<h1>Add</h1>") ||
			strings.Contains(a.InstructionsHTML, "<script") || strings.Contains(a.InstructionsHTML, "javascript:") {
			t.Fatalf("created: %+v", a)
		}
		for _, bad := range []map[string]any{
			{"id": "Sum!", "title": "x", "due_at": due},
			{"id": "x1", "title": "", "due_at": due},
			{"id": "x2", "title": "x", "due_at": "next friday"},
			{"id": "x3", "title": "x", "due_at": due, "time_zone": "Mars/Olympus"},
			{"id": "x4", "title": "x", "due_at": due, "late_minutes": -5},
			{"id": "x5", "title": "x", "due_at": due, "starter": "Local/prof/nowhere"},
			{"id": "x6", "title": "x", "due_at": due, "test_seconds": 1000},
		} {
			res := prof.do("POST", "/api/admin/assignments", bad, nil)
			wantStatus(t, "invalid assignment "+bad["id"].(string), res, http.StatusBadRequest)
			var e struct{ Error struct{ Message string } }
			res.json(t, &e)
			plainWords(t, "refusal", e.Error.Message)
		}
		wantStatus(t, "same id", prof.do("POST", "/api/admin/assignments", map[string]any{"id": "sum", "title": "again", "due_at": due}, nil), http.StatusConflict)
		wantStatus(t, "a bad test name", prof.do("PUT", "/api/admin/assignments/sum/tests/..%2Fx.py", map[string]any{"content": "x"}, nil), http.StatusBadRequest)
		wantStatus(t, "test", prof.do("PUT", "/api/admin/assignments/sum/tests/test_sum.py", map[string]any{"content": sumTest}, nil), http.StatusOK)

		// Students see nothing unpublished and reach no teacher route.
		wantStatus(t, "unpublished", alice.do("GET", "/api/assignments/sum", nil, nil), http.StatusNotFound)
		wantStatus(t, "submit unpublished", alice.do("POST", "/api/assignments/sum/submit", nil, nil), http.StatusNotFound)
		for _, route := range [][2]string{{"GET", "/api/admin/assignments"}, {"POST", "/api/admin/assignments"}, {"GET", "/api/admin/assignments/sum"},
			{"PUT", "/api/admin/assignments/sum/tests/test_x.py"}, {"GET", "/api/admin/assignments/sum/tests/test_sum.py"},
			{"POST", "/api/admin/assignments/sum/publish"}, {"GET", "/api/admin/gradebook"}, {"GET", "/api/admin/gradebook.csv"},
			{"POST", "/api/admin/assignments/sum/regrade"}, {"GET", "/api/admin/assignments/sum/submissions"}} {
			wantStatus(t, "a student at "+route[1], alice.do(route[0], route[1], map[string]any{"content": "x", "id": "y"}, nil), http.StatusForbidden)
		}

		// Publishing gives each student the starter files, and again never
		// over their work.
		var pub struct {
			Distribute struct{ Copied, Skipped, Failed int }
		}
		res = prof.do("POST", "/api/admin/assignments/sum/publish", nil, nil)
		wantStatus(t, "publish", res, http.StatusOK)
		res.json(t, &pub)
		if pub.Distribute.Copied != 2 || pub.Distribute.Failed != 0 {
			t.Fatalf("publish: %s", res.body)
		}
		if got := alice.get("Local/alice/sum/solution.py"); !strings.Contains(string(got.body), "your code here") {
			t.Fatalf("alice's starter: %d %s", got.status, got.body)
		}
		wantStatus(t, "alice's work", alice.put("Local/alice/sum/solution.py", "def add(a, b):\n    return a + b if a >= 0 else 0\n"), http.StatusOK)
		res = prof.do("POST", "/api/admin/assignments/sum/publish", map[string]any{"users": "all"}, nil)
		res.json(t, &pub)
		if pub.Distribute.Skipped != 2 {
			t.Fatalf("publishing again: %s", res.body)
		}
		if got := alice.get("Local/alice/sum/solution.py"); !strings.Contains(string(got.body), "a >= 0") {
			t.Fatal("publishing again overwrote alice's work")
		}
		var mine struct{ Assignments []assignment.View }
		alice.do("GET", "/api/assignments", nil, nil).json(t, &mine)
		if len(mine.Assignments) != 1 || mine.Assignments[0].State != "open" || mine.Assignments[0].Folder != "Local/alice/sum" || mine.Assignments[0].Points != nil {
			t.Fatalf("alice's list: %+v", mine)
		}

		// alice hands in: graded in the sandbox, 4 of 5 points.
		var first assignment.SubmissionView
		res = alice.do("POST", "/api/assignments/sum/submit", nil, nil)
		wantStatus(t, "submit", res, http.StatusCreated)
		res.json(t, &first)
		if first.Seq != 1 || first.Late || first.Files != 1 || (first.Grade.State != assignment.Queued && first.Grade.State != assignment.Running) {
			t.Fatalf("first submission: %s", res.body)
		}
		g := graded(t, prof, first.ID)
		if g.Grade.State != assignment.Done || g.Grade.Score != 4 || g.Grade.MaxScore != 5 || g.Grade.Passed != 2 || g.Grade.Total != 3 {
			t.Fatalf("alice's grade: %+v", g.Grade)
		}
		if len(g.Paths) != 1 || g.Paths[0] != "solution.py" {
			t.Fatalf("snapshot paths %v", g.Paths)
		}
		for _, res := range g.Grade.Results {
			if res.Test == "test_sum.py::test_negative" && (res.Status != "failed" || res.Message != "negative numbers add up too") {
				t.Errorf("the failing test: %+v", res)
			}
		}

		// The snapshot stays as it was handed in.
		alice.put("Local/alice/sum/solution.py", "def add(a, b):\n    return a + b\n")
		var file struct{ Content string }
		prof.do("GET", "/api/admin/submissions/"+first.ID+"/file?path=solution.py", nil, nil).json(t, &file)
		if !strings.Contains(file.Content, "a >= 0") {
			t.Fatalf("the snapshot changed: %q", file.Content)
		}
		for _, p := range []string{"../../../etc/passwd", "/etc/passwd", "", "missing.py"} {
			if res := prof.do("GET", "/api/admin/submissions/"+first.ID+"/file?path="+qp(p), nil, nil); res.status != http.StatusNotFound && res.status != http.StatusBadRequest {
				t.Errorf("snapshot file %q: %d %s", p, res.status, res.body)
			}
		}

		// A second submission counts, unless the teacher picks the first.
		var second assignment.SubmissionView
		alice.do("POST", "/api/assignments/sum/submit", nil, nil).json(t, &second)
		if g := graded(t, prof, second.ID); g.Grade.Score != 5 || !g.Counts {
			t.Fatalf("the second: %+v", g)
		}
		var book assignment.Book
		prof.do("GET", "/api/admin/gradebook", nil, nil).json(t, &book)
		if c := cell(book, "alice", "sum"); c.Submission != second.ID || c.Score != 5 {
			t.Fatalf("gradebook: %+v", book)
		}
		wantStatus(t, "choose", prof.do("POST", "/api/admin/submissions/"+first.ID+"/choose", nil, nil), http.StatusOK)
		wantStatus(t, "comment", prof.do("POST", "/api/admin/submissions/"+first.ID+"/comment", map[string]any{"comment": "Look at negative numbers."}, nil), http.StatusOK)
		prof.do("GET", "/api/admin/gradebook", nil, nil).json(t, &book)
		if c := cell(book, "alice", "sum"); c.Submission != first.ID || c.Score != 4 {
			t.Fatalf("the teacher's pick: %+v", c)
		}
		var detail struct{ Submissions []assignment.SubmissionView }
		res = alice.do("GET", "/api/assignments/sum", nil, nil)
		res.json(t, &detail)
		if len(detail.Submissions) != 2 || detail.Submissions[1].Comment != "Look at negative numbers." || !detail.Submissions[1].Counts ||
			len(detail.Submissions[1].Grade.Results) != 3 || detail.Submissions[1].Grade.Results[0].Output != "" {
			t.Fatalf("alice's detail: %s", res.body)
		}

		// Only the summary, once the teacher says so.
		wantStatus(t, "summary", prof.do("PATCH", "/api/admin/assignments/sum", map[string]any{"feedback": "summary"}, nil), http.StatusOK)
		detail.Submissions = nil
		alice.do("GET", "/api/assignments/sum", nil, nil).json(t, &detail)
		if s := detail.Submissions[0]; len(s.Grade.Results) != 0 || s.Grade.Score != 5 || s.Grade.Passed != 3 {
			t.Fatalf("a summary shows results: %+v", s.Grade)
		}

		// bob hands in the starter, then something hostile; alice works on.
		var bobs assignment.SubmissionView
		bob.do("POST", "/api/assignments/sum/submit", nil, nil).json(t, &bobs)
		if g := graded(t, prof, bobs.ID); g.Grade.Score != 0 || g.Grade.MaxScore != 5 {
			t.Fatalf("the starter's grade: %+v", g.Grade)
		}
		bob.put("Local/bob/sum/solution.py", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
		bob.do("POST", "/api/assignments/sum/submit", nil, nil).json(t, &bobs)
		r.healthy(alice)
		if g := graded(t, prof, bobs.ID); g.Grade.Score != 0 {
			t.Fatalf("a fork bomb's grade: %+v", g.Grade)
		}

		// Changed tests, regraded.
		wantStatus(t, "new test", prof.do("PUT", "/api/admin/assignments/sum/tests/test_more.py", map[string]any{"content": "from solution import add\ndef test_zero():\n    assert add(0, 0) == 0\n"}, nil), http.StatusOK)
		var rg struct{ Queued int }
		res = prof.do("POST", "/api/admin/assignments/sum/regrade", nil, nil)
		wantStatus(t, "regrade", res, http.StatusAccepted)
		res.json(t, &rg)
		if rg.Queued != 4 {
			t.Fatalf("regrade queued %d", rg.Queued)
		}
		if g := graded(t, prof, second.ID); g.Grade.Score != 6 || g.Grade.MaxScore != 6 {
			t.Fatalf("regraded: %+v", g.Grade)
		}

		// The CSV.
		res = prof.do("GET", "/api/admin/gradebook.csv", nil, nil)
		wantStatus(t, "csv", res, http.StatusOK)
		lines := strings.Split(strings.TrimSpace(string(res.body)), "\n")
		if !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") || lines[0] != "username,full_name,sum score,sum late,sum submitted_at" ||
			len(lines) != 3 || !strings.HasPrefix(lines[1], "alice,ALICE,") {
			t.Fatalf("csv: %q", res.body)
		}

		// Deadlines: late within the allowance, refused after it.
		past := func(id string, ago time.Duration, late int) {
			res := prof.do("POST", "/api/admin/assignments", map[string]any{"id": id, "title": id, "due_at": time.Now().Add(-ago).UTC().Format(time.RFC3339), "late_minutes": late}, nil)
			wantStatus(t, "create "+id, res, http.StatusCreated)
			wantStatus(t, "publish "+id, prof.do("POST", "/api/admin/assignments/"+id+"/publish", nil, nil), http.StatusOK)
		}
		past("late", 10*time.Minute, 60)
		past("closed", 2*time.Hour, 60)
		var late assignment.SubmissionView
		res = alice.do("POST", "/api/assignments/late/submit", nil, nil)
		wantStatus(t, "late", res, http.StatusCreated)
		res.json(t, &late)
		if !late.Late {
			t.Fatalf("a late submission is not marked: %s", res.body)
		}
		res = alice.do("POST", "/api/assignments/closed/submit", nil, nil)
		wantStatus(t, "after the allowance", res, http.StatusConflict)
		if !strings.Contains(string(res.body), "closed at") {
			t.Fatalf("the refusal: %s", res.body)
		}
		wantStatus(t, "delete with submissions", prof.do("DELETE", "/api/admin/assignments/sum", nil, nil), http.StatusConflict)
		wantStatus(t, "delete without", prof.do("DELETE", "/api/admin/assignments/closed", nil, nil), http.StatusNoContent)
	})
}

func cell(b assignment.Book, user, id string) assignment.Cell {
	for _, s := range b.Students {
		if s.Username == user {
			return s.Cells[id]
		}
	}
	return assignment.Cell{}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone data for %s: %v", name, err)
	}
	return l
}
