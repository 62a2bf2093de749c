package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/fault"
)

func TestAdmitRefusesEachLimit(t *testing.T) {
	small := DefaultLimits()
	small.MaxActiveUsers = 2
	small.MaxTotal = 4
	small.MemoryPerProc = 50 * MiB
	small.MemoryTotal = 250 * MiB

	tests := []struct {
		name    string
		limits  Limits
		setup   func(t *testing.T, r *Registry)
		req     Request
		cause   error
		message string
	}{
		{
			name:   "per user",
			limits: DefaultLimits(),
			setup: func(t *testing.T, r *Registry) {
				run(t, r, "a1", "alice", "Local/alice/a.py")
				run(t, r, "a2", "alice", "Local/alice/b.py")
				admit(t, r, "a3", "alice", "", KindREPL)
			},
			req:     Request{ID: "a4", Owner: "alice", Path: "Local/alice/c.py", Kind: KindScript},
			cause:   ErrPerUserLimit,
			message: "You already have 3 programs running (the limit is 3). Stop one first.",
		},
		{
			name:   "active users",
			limits: small,
			setup: func(t *testing.T, r *Registry) {
				run(t, r, "a1", "alice", "Local/alice/a.py")
				run(t, r, "b1", "bob", "Local/bob/a.py")
			},
			req:     Request{ID: "c1", Owner: "carol", Kind: KindREPL},
			cause:   ErrUsersLimit,
			message: "limit of 2 students",
		},
		{
			name:   "total processes",
			limits: small,
			setup: func(t *testing.T, r *Registry) {
				run(t, r, "a1", "alice", "Local/alice/a.py")
				run(t, r, "a2", "alice", "Local/alice/b.py")
				run(t, r, "b1", "bob", "Local/bob/a.py")
				run(t, r, "b2", "bob", "Local/bob/b.py")
			},
			// alice is already active and under her own limit: only the total stops her.
			req:     Request{ID: "a3", Owner: "alice", Kind: KindREPL},
			cause:   ErrTotalLimit,
			message: "limit of 4 programs",
		},
		{
			name:   "memory",
			limits: small,
			setup: func(t *testing.T, r *Registry) {
				run(t, r, "a1", "alice", "Local/alice/a.py")
				run(t, r, "b1", "bob", "Local/bob/a.py")
				r.Sample("a1", 100*MiB, 1) // over its own limit, but measured is measured
				r.Sample("b1", 101*MiB, 1)
			},
			req:     Request{ID: "a2", Owner: "alice", Kind: KindREPL},
			cause:   ErrMemoryLimit,
			message: "all programs together may use 250 MB",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTest(t, tt.limits)
			tt.setup(t, r)
			before := r.Snapshot()
			replaced, err := r.Admit(tt.req)
			if err == nil {
				t.Fatalf("admitted over the limit")
			}
			if replaced != nil {
				t.Errorf("a refusal replaced %s", replaced.ID)
			}
			if !errors.Is(err, ErrLimit) {
				t.Errorf("code: got %v, want limit_reached", err)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("cause: got %v, want %v", err, tt.cause)
			}
			if msg := message(err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
			if after := r.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("a refusal changed what was running:\nbefore %+v\nafter  %+v", before, after)
			}
			if _, held := r.Get(tt.req.ID); held {
				t.Errorf("refused process is held")
			}
			mustInvariants(t, r)
		})
	}
}

func TestAdmitOneProgramSaysProgram(t *testing.T) {
	l := DefaultLimits()
	l.MaxPerUser = 1
	r, _ := newTest(t, l)
	run(t, r, "a1", "alice", "Local/alice/a.py")
	_, err := r.Admit(Request{ID: "a2", Owner: "alice", Kind: KindREPL})
	if want := "You already have 1 program running (the limit is 1). Stop one first."; message(err) != want {
		t.Errorf("got %q, want %q", message(err), want)
	}
}

func TestAdmitActiveUserMayAddWhenUsersFull(t *testing.T) {
	l := DefaultLimits()
	l.MaxActiveUsers = 1
	r, _ := newTest(t, l)
	run(t, r, "a1", "alice", "Local/alice/a.py")
	if _, err := r.Admit(Request{ID: "a2", Owner: "alice", Kind: KindREPL}); err != nil {
		t.Fatalf("an active user was refused by the user limit: %v", err)
	}
	// Once alice's processes are gone, her slot is free for bob.
	if _, err := r.Admit(Request{ID: "b1", Owner: "bob", Kind: KindREPL}); !errors.Is(err, ErrUsersLimit) {
		t.Fatalf("bob: got %v, want the user limit", err)
	}
	r.Remove("a1")
	r.Remove("a2")
	if _, err := r.Admit(Request{ID: "b1", Owner: "bob", Kind: KindREPL}); err != nil {
		t.Fatalf("bob after alice left: %v", err)
	}
	mustInvariants(t, r)
}

func TestAdmitValidates(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		kind error
	}{
		{"no id", Request{Owner: "alice", Kind: KindREPL}, ErrInvalid},
		{"no owner", Request{ID: "x", Kind: KindREPL}, ErrInvalid},
		{"bad kind", Request{ID: "x", Owner: "alice", Kind: "shell"}, ErrInvalid},
		{"script without a file", Request{ID: "x", Owner: "alice", Kind: KindScript}, ErrInvalid},
		{"duplicate id", Request{ID: "a1", Owner: "bob", Kind: KindREPL}, ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTest(t, DefaultLimits())
			run(t, r, "a1", "alice", "Local/alice/a.py")
			_, err := r.Admit(tt.req)
			if !errors.Is(err, tt.kind) {
				t.Errorf("got %v, want %v", err, tt.kind)
			}
			if msg, ok := fault.Message(err); !ok || msg == "" {
				t.Errorf("refusal %v has no words for the student", err)
			}
			if got := len(r.Snapshot()); got != 1 {
				t.Errorf("%d processes held, want 1", got)
			}
			mustInvariants(t, r)
		})
	}
}

func TestAdmitReplacesSameFile(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	r.Connected("alice")
	run(t, r, "a1", "alice", "Local/alice/hw1.py")
	admit(t, r, "repl", "alice", "", KindREPL)
	run(t, r, "b1", "bob", "Local/alice/hw1.py") // same path, other owner: never replaced

	replaced, err := r.Admit(Request{ID: "a2", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindScript})
	if err != nil {
		t.Fatal(err)
	}
	if replaced == nil || replaced.ID != "a1" || replaced.ReplacedBy != "a2" {
		t.Fatalf("replaced = %+v, want a1 replaced by a2", replaced)
	}
	if p, _ := r.Get("a1"); p.ReplacedBy != "a2" {
		t.Errorf("a1 is held but not marked replaced: %+v", p)
	}
	st := r.Stats()
	if st.Processes != 4 || st.Replacing != 1 || st.Headroom.Processes != 114-3 {
		t.Errorf("stats after replacement: %+v", st)
	}

	// A double click: the second replaces the newest run, not the one already being stopped.
	replaced, err = r.Admit(Request{ID: "a3", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindScript})
	if err != nil || replaced == nil || replaced.ID != "a2" {
		t.Fatalf("second replacement: %+v, %v", replaced, err)
	}

	// The REPL a script turned into is the same run: running the file again replaces it.
	start(t, r, "a3")
	r.SetState("a3", StateIdle)
	replaced, err = r.Admit(Request{ID: "a4", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindScript})
	if err != nil || replaced == nil || replaced.ID != "a3" || replaced.Kind != KindREPL {
		t.Fatalf("replacing the REPL of a finished script: %+v, %v", replaced, err)
	}

	// A REPL request never replaces, and a bare REPL is never replaced.
	if replaced, err := r.Admit(Request{ID: "a5", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindREPL}); err != nil || replaced != nil {
		t.Fatalf("REPL request with a path: replaced %+v, err %v; want admitted beside a4", replaced, err)
	}
	if p, _ := r.Get("a4"); p.ReplacedBy != "" {
		t.Errorf("a REPL request replaced a4")
	}
	if p, _ := r.Get("repl"); p.ReplacedBy != "" {
		t.Errorf("bare REPL marked replaced")
	}
	if p, _ := r.Get("b1"); p.ReplacedBy != "" {
		t.Errorf("bob's run was replaced by alice's")
	}
	mustInvariants(t, r)

	// Removing a replaced process does not free a slot twice.
	for _, id := range []string{"a1", "a2", "a3"} {
		if _, ok := r.Remove(id); !ok {
			t.Errorf("Remove(%s) missed", id)
		}
	}
	// Left: a4, repl, a5 and bob's b1.
	if got := r.Stats().Headroom.Processes; got != 114-4 {
		t.Errorf("headroom %d, want %d", got, 114-4)
	}
	mustInvariants(t, r)
}

func TestReplacementCountsBeforeLimits(t *testing.T) {
	l := DefaultLimits()
	l.MaxActiveUsers = 2
	l.MaxTotal = 4
	l.MemoryTotal = 200 * MiB // four unmeasured processes fill it
	r, _ := newTest(t, l)
	run(t, r, "a1", "alice", "Local/alice/hw1.py")
	run(t, r, "a2", "alice", "Local/alice/hw2.py")
	run(t, r, "a3", "alice", "Local/alice/hw3.py")
	run(t, r, "b1", "bob", "Local/bob/hw1.py")

	// Every limit is full, yet running an already running file is allowed:
	// the old run stops counting as the new one starts.
	if _, err := r.Admit(Request{ID: "a4", Owner: "alice", Path: "Local/alice/hw4.py", Kind: KindScript}); !errors.Is(err, ErrPerUserLimit) {
		t.Fatalf("a new file: got %v, want the per-user limit", err)
	}
	replaced, err := r.Admit(Request{ID: "a1b", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindScript})
	if err != nil || replaced == nil || replaced.ID != "a1" {
		t.Fatalf("replacing at the limit: %+v, %v", replaced, err)
	}
	// bob's only process, with the user limit full (2 of 2).
	if _, err := r.Admit(Request{ID: "b1b", Owner: "bob", Path: "Local/bob/hw1.py", Kind: KindScript}); err != nil {
		t.Fatalf("bob replacing his only run: %v", err)
	}
	// Still refused after the replacements: the counts did not leak.
	if _, err := r.Admit(Request{ID: "a5", Owner: "alice", Kind: KindREPL}); !errors.Is(err, ErrPerUserLimit) {
		t.Fatalf("after replacement: got %v, want the per-user limit", err)
	}
	if _, err := r.Admit(Request{ID: "c1", Owner: "carol", Kind: KindREPL}); !errors.Is(err, ErrUsersLimit) {
		t.Fatalf("carol: got %v, want the user limit", err)
	}
	mustInvariants(t, r)
}

func TestReplacementRefusedLeavesOldRunning(t *testing.T) {
	l := DefaultLimits()
	l.MemoryTotal = 100 * MiB
	r, _ := newTest(t, l)
	run(t, r, "a1", "alice", "Local/alice/hw1.py")
	run(t, r, "b1", "bob", "Local/bob/hw1.py")
	r.Sample("a1", 10*MiB, 1)
	r.Sample("b1", 60*MiB, 1)
	// Without a1, 60 MB are used and 50 more do not fit in 100: refused, and
	// a1 must not have been marked as replaced.
	if _, err := r.Admit(Request{ID: "a2", Owner: "alice", Path: "Local/alice/hw1.py", Kind: KindScript}); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("got %v, want the memory limit", err)
	}
	if p, _ := r.Get("a1"); p.ReplacedBy != "" {
		t.Fatalf("a refused replacement marked a1: %+v", p)
	}
	mustInvariants(t, r)
}

func TestMemoryAdmission(t *testing.T) {
	l := DefaultLimits()
	l.MemoryPerProc = 50 * MiB
	l.MemoryTotal = 150 * MiB
	r, _ := newTest(t, l)
	run(t, r, "a1", "alice", "Local/alice/a.py")
	run(t, r, "b1", "bob", "Local/bob/a.py")
	// Unmeasured processes are charged their full allowance: 100 + 50 fits
	// exactly, one more does not.
	admit(t, r, "c1", "carol", "", KindREPL)
	if _, err := r.Admit(Request{ID: "d1", Owner: "dave", Kind: KindREPL}); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("got %v, want the memory limit", err)
	}
	if got := r.Stats().Headroom.MemoryBytes; got != 0 {
		t.Errorf("headroom %d, want 0", got)
	}
	// Once measured small, the room comes back: 10 + 10 + 50 (c1 unmeasured) + 50 = 120.
	r.Sample("a1", 10*MiB, 0.1)
	r.Sample("b1", 10*MiB, 0.1)
	admit(t, r, "d1", "dave", "", KindREPL)
	if got := r.Stats().Headroom.MemoryBytes; got != 30*MiB {
		t.Errorf("headroom %d, want 30 MiB", got)
	}
	// 30 MiB left: not enough for another 50.
	if _, err := r.Admit(Request{ID: "e1", Owner: "eve", Kind: KindREPL}); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("got %v, want the memory limit", err)
	}
	// Removing a process gives its memory back: 10 + 10 + 50 + 50 = 120.
	r.Remove("c1")
	admit(t, r, "e1", "eve", "", KindREPL)
	mustInvariants(t, r)
}

func TestStartedAndRemove(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	admit(t, r, "a1", "alice", "", KindREPL)
	admit(t, r, "a2", "alice", "", KindREPL)

	tests := []struct {
		name string
		id   string
		pid  int
		want error
	}{
		{"unknown id", "nope", 10, ErrNotFound},
		{"zero pid", "a1", 0, nil},
		{"first start", "a1", 10, nil},
		{"second start", "a1", 11, ErrAlreadyStarted},
		{"pid already held", "a2", 10, ErrPIDHeld},
	}
	for _, tt := range tests {
		err := r.Started(tt.id, tt.pid, 99)
		switch {
		case tt.pid <= 0:
			if err == nil {
				t.Errorf("%s: accepted pid %d", tt.name, tt.pid)
			}
		case !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil):
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	// The same pid with another start time is another process (pid reuse).
	if err := r.Started("a2", 10, 100); err != nil {
		t.Errorf("reused pid with a new start time: %v", err)
	}
	p, ok := r.Remove("a1")
	if !ok || p.PID != 10 || p.PIDStart != 99 || p.State != StateRunning {
		t.Errorf("Remove returned %+v, %v", p, ok)
	}
	if _, ok := r.Remove("a1"); ok {
		t.Errorf("removed twice")
	}
	admit(t, r, "a3", "alice", "", KindREPL)
	if err := r.Started("a3", 10, 99); err != nil {
		t.Errorf("pid freed by Remove is still held: %v", err)
	}
	mustInvariants(t, r)
}

func TestOwnerForgottenWhenUnused(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	r.Connected("alice")
	run(t, r, "a1", "alice", "Local/alice/a.py")
	r.Disconnected("alice")
	r.Remove("a1")
	r.Connected("bob")
	r.Disconnected("bob")
	r.Disconnected("carol") // never connected
	if n := len(r.owners); n != 0 {
		t.Errorf("%d owners kept, want 0", n)
	}
	mustInvariants(t, r)
}

// message is the student's words of a refusal.
func message(err error) string {
	m, _ := fault.Message(err)
	return m
}
