package assignment_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/workspace"
)

var (
	prof  = workspace.Actor{Username: "teacher", Professor: true}
	alice = workspace.Actor{Username: "alice"}
)

// class is a store with a teacher and alice, a workspace, and a published
// assignment "hw" due in a day; Service instances made by svc share them,
// as instances sharing the database and data volume do.
type class struct {
	st  *store.Store
	ws  *workspace.Workspace
	dir string
	now time.Time
	mu  sync.Mutex
}

func newClass(t *testing.T, st *store.Store, wopts workspace.Options) *class {
	t.Helper()
	root := t.TempDir()
	ws, err := workspace.Open(filepath.Join(root, "ide"), wopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &class{st: st, ws: ws, dir: filepath.Join(root, "submissions"), now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r := &roster.Roster{Store: st, Workspace: ws}
	for _, u := range []roster.NewUser{{Username: "teacher", Role: store.RoleProfessor}, {Username: "alice", Role: store.RoleStudent}} {
		if _, err := r.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *class) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *class) svc(quota int64) *assignment.Service {
	return assignment.New(c.st, c.ws, assignment.Options{Dir: c.dir, QuotaBytes: quota, Now: c.clock}, slog.New(slog.DiscardHandler))
}

func (c *class) publish(t *testing.T, s *assignment.Service, in assignment.Input) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Create(ctx, prof, in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Publish(ctx, prof, *in.ID, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
}

func (c *class) save(t *testing.T, p, text string) {
	t.Helper()
	if _, err := c.ws.Write(alice, p, strings.NewReader(text), ""); err != nil {
		t.Fatal(err)
	}
}

// snapshots counts what is on disk for alice's hw, hidden temps included.
func (c *class) snapshots(t *testing.T, id string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(c.dir, id, "alice"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(es)
}

func says(err error, what string) bool {
	msg, _ := fault.Message(err)
	return strings.Contains(msg, what)
}

func ptr[T any](v T) *T { return &v }

func hw(id string) assignment.Input {
	return assignment.Input{ID: ptr(id), Title: ptr("Homework " + id), DueAt: ptr("2026-12-02T09:00"), LateMinutes: ptr(60)}
}

func wantKind(t *testing.T, what string, err, kind error, says string) {
	t.Helper()
	msg, _ := fault.Message(err)
	if !errors.Is(err, kind) || !strings.Contains(msg, says) {
		t.Fatalf("%s: got %v, want %v saying %q", what, err, kind, says)
	}
}

// TestSubmissionLimits tries to break every bound of handing in: the 50
// submissions, the snapshots' own quota, the home's quota on one folder,
// the deadline and its allowance, and many submissions at once from two
// instances; a refused submission leaves nothing behind, a kept one never
// changes.
func TestSubmissionLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClass(t, st, workspace.Options{QuotaBytes: 64 << 10, QuotaFiles: 20})
		a, b := c.svc(0), c.svc(0) // two instances

		// 50 submissions, raced from two instances by four goroutines
		// each; exactly 50 are kept, on disk and in the store.
		c.publish(t, a, hw("many"))
		c.save(t, "Local/alice/many/main.py", "print('v1')\n")
		var wg sync.WaitGroup
		var mu sync.Mutex
		kept, refusedLimit := 0, 0
		for g := 0; g < 8; g++ {
			s := a
			if g%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, err := s.Submit(ctx, alice, "many")
					mu.Lock()
					switch {
					case err == nil:
						kept++
					case errors.Is(err, assignment.ErrLimit) && says(err, "times, the most"):
						refusedLimit++
						mu.Unlock()
						return
					case errors.Is(err, assignment.ErrLimit) && says(err, "still being saved"):
					default:
						mu.Unlock()
						t.Errorf("submit: %v", err)
						return
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		xs, err := a.Submissions(ctx, "many", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if kept != 50 || len(xs) != 50 || refusedLimit != 8 || c.snapshots(t, "many") != 50 {
			t.Fatalf("kept %d, recorded %d, on disk %d, refused %d; want 50, 50, 50, 8", kept, len(xs), c.snapshots(t, "many"), refusedLimit)
		}
		seqs := map[int]bool{}
		for _, x := range xs {
			seqs[x.Seq] = true
		}
		if len(seqs) != 50 {
			t.Fatalf("submissions share numbers: %d distinct of 50", len(seqs))
		}

		// A snapshot never changes after the student edits on.
		first := xs[len(xs)-1]
		c.save(t, "Local/alice/many/main.py", "print('edited afterwards')\n")
		if got, err := a.File(first, "main.py", 1<<20); err != nil || string(got) != "print('v1')\n" {
			t.Fatalf("the snapshot changed: %q %v", got, err)
		}

		// All of a student's snapshots together are bounded by their own
		// quota: beside the 50 small ones above, 17 of 60 KiB fit in
		// 1 MiB, the 18th does not.
		q := c.svc(1 << 20)
		c.publish(t, q, hw("big"))
		c.save(t, "Local/alice/big/data.txt", strings.Repeat("x", 60<<10))
		for i := 0; i < 17; i++ {
			if _, err := q.Submit(ctx, alice, "big"); err != nil {
				t.Fatalf("submission %d of 60 KiB within 1 MiB: %v", i+1, err)
			}
		}
		_, err = q.Submit(ctx, alice, "big")
		wantKind(t, "past the snapshots' quota", err, assignment.ErrLimit, "more than 1 MiB in all")
		if n := c.snapshots(t, "big"); n != 17 {
			t.Fatalf("a refused snapshot was left on disk: %d", n)
		}

		// Late within the allowance, then refused after it, naming when.
		c.publish(t, a, hw("late"))
		c.save(t, "Local/alice/late/main.py", "print(1)\n")
		c.mu.Lock()
		c.now = time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
		c.mu.Unlock()
		x, err := a.Submit(ctx, alice, "late")
		if err != nil || !x.Late {
			t.Fatalf("within the allowance: %+v %v", x, err)
		}
		c.mu.Lock()
		c.now = time.Date(2026, 12, 2, 10, 0, 1, 0, time.UTC)
		c.mu.Unlock()
		_, err = a.Submit(ctx, alice, "late")
		wantKind(t, "after the allowance", err, assignment.ErrClosed, "closed at 2026-12-02 10:00 (UTC): it was due at 2026-12-02 09:00, with 60 minutes for late work")
		if n := c.snapshots(t, "late"); n != 1 {
			t.Fatalf("a refused late submission left %d snapshots", n)
		}

		// Nothing of another student's, nor a file instead of a folder.
		_, err = a.Submit(ctx, workspace.Actor{Username: "mallory"}, "late")
		if err == nil {
			t.Fatal("a student with no folder handed in")
		}
	})
}

// TestTeacherInputLimits tries the bounds of what a teacher enters: test
// files' size, count and names, comments, points, and a starter that is
// not a folder.
func TestTeacherInputLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClass(t, st, workspace.Options{})
		s := c.svc(0)
		c.publish(t, s, hw("hw"))

		err := s.PutTest(ctx, "hw", "test_big.py", strings.Repeat("#", assignment.MaxTestBytes+1))
		wantKind(t, "a test over 256 KiB", err, assignment.ErrLimit, "up to 256 KiB")
		if err := s.PutTest(ctx, "hw", "test_big.py", strings.Repeat("#", assignment.MaxTestBytes)); err != nil {
			t.Fatalf("a test of exactly 256 KiB: %v", err)
		}
		for _, bad := range []string{"../test_x.py", "test_x.txt", "checks.py", "test x.py", ".test_x.py", "sub/test_x.py"} {
			wantKind(t, "test name "+bad, s.PutTest(ctx, "hw", bad, "pass\n"), assignment.ErrInvalid, "named test_")
		}
		for i := 1; i < assignment.MaxTests; i++ {
			if err := s.PutTest(ctx, "hw", "test_"+strings.Repeat("a", i)+".py", "pass\n"); err != nil {
				t.Fatalf("test %d: %v", i+1, err)
			}
		}
		wantKind(t, "a 51st test", s.PutTest(ctx, "hw", "test_one_more.py", "pass\n"), assignment.ErrLimit, "up to 50 test files")
		if err := s.PutTest(ctx, "hw", "test_big.py", "def test_small(): pass\n"); err != nil {
			t.Fatalf("replacing a test at the limit: %v", err)
		}
		if ts, _ := s.Tests(ctx, "hw"); len(ts) != assignment.MaxTests {
			t.Fatalf("%d tests kept, want %d", len(ts), assignment.MaxTests)
		}

		c.save(t, "Local/alice/hw/main.py", "print(1)\n")
		x, err := s.Submit(ctx, alice, "hw")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Comment(ctx, x.ID, "Good start."); err != nil {
			t.Fatal(err)
		}
		_, err = s.Comment(ctx, x.ID, strings.Repeat("é", assignment.MaxComment))
		wantKind(t, "a comment too long", err, assignment.ErrInvalid, "up to 10000 characters")
		if got, _ := s.Submission(ctx, x.ID); got.Comment != "Good start." {
			t.Fatalf("a refused comment changed the comment: %q", got.Comment)
		}
		_, err = s.Comment(ctx, "no-such-submission", "hi")
		wantKind(t, "a comment on nothing", err, assignment.ErrNotFound, "")

		_, err = s.Update(ctx, prof, "hw", assignment.Input{Points: &map[string]float64{"test_a": -1}})
		wantKind(t, "negative points", err, assignment.ErrInvalid, "between 0 and 1000")
		_, err = s.Update(ctx, prof, "hw", assignment.Input{TestSeconds: ptr(121)})
		wantKind(t, "a test of 121 s", err, assignment.ErrInvalid, "1 to 120 seconds")
		_, err = s.Update(ctx, prof, "hw", assignment.Input{LateMinutes: ptr(7*24*60 + 1)})
		wantKind(t, "more than a week late", err, assignment.ErrInvalid, "a week")
		_, err = s.Update(ctx, prof, "hw", assignment.Input{Starter: ptr("Local/teacher/nothing")})
		wantKind(t, "a starter that is not there", err, assignment.ErrInvalid, "cannot be read")
		c.save(t, "Local/alice/hw/notes.txt", "x\n")
		_, err = s.Update(ctx, prof, "hw", assignment.Input{Starter: ptr("Local/alice/hw/notes.txt")})
		wantKind(t, "a starter that is a file", err, assignment.ErrInvalid, "is not a folder")
		_, err = s.Update(ctx, prof, "hw", assignment.Input{Starter: ptr("Local/teacher/../alice")})
		wantKind(t, "a starter out of the home", err, assignment.ErrInvalid, "cannot be read")
		if a, _ := s.Get(ctx, "hw"); a.TestSeconds != 10 || a.LateMinutes != 60 || a.Starter != "" || len(a.Points) != 0 {
			t.Fatalf("refused edits changed the assignment: %+v", a)
		}
		err = s.Delete(ctx, "hw")
		wantKind(t, "deleting one with submissions", err, assignment.ErrClosed, "")
	})
}
