package loadtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// student is one simulated student: a browser with a session, a WebSocket,
// and the files it keeps editing.
type student struct {
	lt       *test
	name     string
	password string
	home     string
	nonce    string // unique to this student in this load test
	rng      *rand.Rand
	http     *client
	ws       *wsConn

	notesTag  string   // ETag of notes.py as last saved
	notesSum  [32]byte // and a hash of what was saved, to check opens
	notesEdit int
	runTags   map[string]string // ETags of the program files
	runs      int
	abandoned map[string]bool // runs given up on: their late messages are not strays
	loggedIn  bool
	typed     int // programs typed (ActType)
}

// The files a student works on, in their home.
const (
	notesFile = "notes.py"
	runFile   = "lt_run.py"
	heavyFile = "lt_heavy.py"
)

// session is a student's whole visit: arrive after arrival, log in, work
// until end (or MaxActions), leave. Every wait inside is bounded by
// OpTimeout; hard ends the visit even in the middle of an action.
func (s *student) session(hard context.Context, end time.Time, arrival time.Duration) {
	if !s.sleep(hard, end, arrival) {
		return
	}
	s.lt.active.Add(1)
	defer s.lt.active.Add(-1)
	ok := s.arrive(hard)
	defer s.leave(hard)
	if !ok {
		return
	}
	for i := 0; i < s.lt.cfg.MaxActions && hard.Err() == nil && time.Now().Before(end); i++ {
		s.act(hard, s.lt.cfg.Mix.pick(s.rng))
		if !s.sleep(hard, end, s.think()) {
			return
		}
	}
}

// think is a pause of Think ±50 %.
func (s *student) think() time.Duration {
	t := s.lt.cfg.Think
	if t <= 0 {
		return 0
	}
	return t/2 + time.Duration(s.rng.Int64N(int64(t)))
}

// sleep waits d, but never past end; false when the visit is over.
func (s *student) sleep(hard context.Context, end time.Time, d time.Duration) bool {
	d = min(d, time.Until(end))
	if d <= 0 {
		return hard.Err() == nil && time.Now().Before(end)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return time.Now().Before(end)
	case <-hard.Done():
		return false
	}
}

// op runs one bounded step and counts its error.
func (s *student) op(hard context.Context, f func(ctx context.Context) *opError) bool {
	ctx, cancel := context.WithTimeout(hard, s.lt.cfg.OpTimeout)
	defer cancel()
	s.lt.attempts.Add(1)
	err := f(ctx)
	s.lt.errs.add(err, hard.Err() != nil)
	return err == nil
}

// timed runs f and records how long it took when it succeeded.
func (s *student) timed(op Op, f func() *opError) *opError {
	start := time.Now()
	if err := f(); err != nil {
		return err
	}
	s.lt.lat.add(op, time.Since(start))
	return nil
}

func (s *student) arrive(hard context.Context) bool {
	ok := s.op(hard, func(ctx context.Context) *opError {
		return s.timed(OpLogin, func() *opError { return s.http.login(ctx, s.name, s.password) })
	})
	s.loggedIn = ok
	ok = ok && s.op(hard, func(ctx context.Context) *opError {
		w, err := dialWS(ctx, s.http)
		s.ws = w
		return err
	})
	// The first save of notes.py is unconditional: a file left by an
	// earlier load test is simply replaced.
	return ok && s.op(hard, func(ctx context.Context) *opError { return s.saveNotes(ctx, false) })
}

// leave closes the connection and logs out, unless the run was cut short
// (then the server is not waited for).
func (s *student) leave(hard context.Context) {
	if s.ws != nil {
		s.ws.close()
	}
	if !s.loggedIn || hard.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(s.lt.cfg.OpTimeout, 5*time.Second))
	defer cancel()
	s.http.logout(ctx)
}

func (s *student) act(hard context.Context, a Action) {
	s.lt.actions.add(string(a))
	s.op(hard, func(ctx context.Context) *opError {
		if s.ws != nil && !s.ws.alive() {
			s.ws.close()
			s.ws = nil
		}
		if s.ws == nil { // the connection was lost: the page reconnects
			w, err := dialWS(ctx, s.http)
			if err != nil {
				return err
			}
			s.ws = w
		}
		switch a {
		case ActList:
			return s.list(ctx)
		case ActOpen:
			return s.open(ctx)
		case ActSave:
			return s.saveNotes(ctx, true)
		case ActRun:
			return s.interactiveRun(ctx, false)
		case ActReconnect:
			return s.interactiveRun(ctx, true)
		case ActBusy, ActMemory, ActFlood:
			return s.heavyRun(ctx, a)
		case ActType:
			return s.typing(ctx)
		}
		return failure("unknown action", "%s", a)
	})
}

func (s *student) list(ctx context.Context) *opError {
	var names []string
	err := s.timed(OpList, func() (err *opError) {
		names, err = s.http.list(ctx, s.home)
		return err
	})
	if err == nil && !slices.Contains(names, notesFile) {
		return failure("list: file missing", "%s has no %s: %v", s.home, notesFile, names)
	}
	return err
}

func (s *student) open(ctx context.Context) *opError {
	var body []byte
	var tag string
	err := s.timed(OpOpen, func() (err *opError) {
		body, tag, err = s.http.open(ctx, s.home+"/"+notesFile)
		return err
	})
	switch {
	case err != nil:
		return err
	case sha256.Sum256(body) != s.notesSum:
		return failure("open: content differs", "%s does not hold what was last saved", notesFile)
	case tag != s.notesTag:
		return failure("open: etag differs", "%s: ETag %s, saved as %s", notesFile, tag, s.notesTag)
	}
	return nil
}

// notes is the edited file's content after edit n: a few hundred bytes to
// a few KiB, different every time.
func (s *student) notes(n int) []byte {
	b := fmt.Appendf(nil, "# %s's notes, edit %d\n", s.name, n)
	for i := range 10 + n%90 {
		b = fmt.Appendf(b, "x%d = %d  # a line of a student's exercise\n", i, n*i)
	}
	return b
}

// saveNotes autosaves an edit; conditional saves send the ETag last seen,
// as the editor does.
func (s *student) saveNotes(ctx context.Context, conditional bool) *opError {
	s.notesEdit++
	content := s.notes(s.notesEdit)
	tag := ""
	if conditional {
		tag = s.notesTag
	}
	var newTag string
	err := s.timed(OpSave, func() (err *opError) {
		newTag, err = s.http.save(ctx, s.home+"/"+notesFile, content, tag)
		return err
	})
	if err != nil {
		// What the file holds now is unknown: start over unconditionally.
		s.notesTag, s.notesSum = "", [32]byte{}
		return err
	}
	s.notesTag, s.notesSum = newTag, sha256.Sum256(content)
	return nil
}

// saveProgram writes a program before running it, as a student saves
// before pressing Run.
func (s *student) saveProgram(ctx context.Context, file, source string) *opError {
	path := s.home + "/" + file
	var tag string
	err := s.timed(OpSave, func() (err *opError) {
		tag, err = s.http.save(ctx, path, []byte(source), s.runTags[file])
		return err
	})
	if err != nil {
		delete(s.runTags, file) // its state is unknown: the next save is unconditional
		return err
	}
	s.runTags[file] = tag
	return nil
}

// runNonce names one run of this student.
func (s *student) runNonce() string {
	s.runs++
	return fmt.Sprintf("%s.%d", s.nonce, s.runs)
}
