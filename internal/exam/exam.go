// Package exam is exam mode: an assignment (internal/assignment) that some
// students sit in a time window. While it lasts they reach only their exam
// folder Local/<user>/<id>/ (and the course folders if the teacher allows):
// the service gives the web layer each student's workspace.Limits, which
// every file operation applies and the runner turns into what a program
// sees. Their logins, saves, runs and refusals are logged for the teacher,
// who sees who is connected and what each did last. At the end every
// folder is handed in (assignment.HandIn) and stays read-only.
//
// The records live in the store (exams, exam_students, exam_events); the
// start and the end are each claimed there by one instance, so with several
// instances they happen once. docs/exams.md tells the whole story.
package exam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// The kinds of the service's refusals (fault.Error kinds).
var (
	ErrInvalid  = errors.New("exam: invalid")
	ErrNotFound = errors.New("exam: not found")
	ErrConflict = errors.New("exam: conflict") // the id is an exam already; a student sits another at that time
	ErrFailed   = errors.New("exam: the store failed")
)

// The sentences students read.
const (
	// Refusal answers any path outside the exam folder during the exam.
	Refusal = "During the exam only your exam folder is open."
	// RefusalWithNotes is Refusal when the course notes are open too.
	RefusalWithNotes = "During the exam only your exam folder and the course notes are open."
	// readOnlyAfter refuses changing the folder of an exam that is over.
	readOnlyAfter = "The exam %q is over: its folder is read-only now (what it held at the end was handed in)."
	// Stopped programs are told why.
	stoppedBegun = "Stopped: an exam has begun. Programs now run in your exam folder; run yours again there."
	stoppedOver  = "Stopped: the exam is over."
)

// MaxWindow bounds an exam's length.
const MaxWindow = 24 * time.Hour

// Refitter stops a student's programs that see more than they may now
// (runner.Runner).
type Refitter interface {
	Refit(u runner.User, message string) int
}

// Options configure a Service.
type Options struct {
	// Instance names this instance in the start and end claims.
	Instance string
	// Runner, when set, has its programs refitted as exams begin and end
	// (this instance's; every instance's service refits its own).
	Runner Refitter
	Now    func() time.Time
	// Every is how often Run looks for exams to open or end and refits
	// programs; default 1 s.
	Every time.Duration
	// Grace is how long the end waits after the exam's end before taking
	// the snapshots, so every instance has stopped the students' programs:
	// an end made early elsewhere is seen within CacheFor, and each refits
	// within Every; default CacheFor + Every + 1 s (4 s).
	Grace time.Duration
	// Beat is how often the instance holding a student's WebSocket says
	// they are still connected; a student not heard of for 3 beats is
	// shown disconnected (their instance died). Default 10 s.
	Beat time.Duration
	// CacheFor is how long the exams read from the store are trusted by
	// Limits before they are read again; default 2 s. The window itself is
	// judged on this instance's clock at every request, so an exam begins
	// and ends on time whatever the cache; an early end on another
	// instance takes effect here within CacheFor.
	CacheFor time.Duration
}

// Service is the exams of one class.
type Service struct {
	st   *store.Store
	ws   *workspace.Workspace
	as   *assignment.Service
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	snap    *snapshot
	dirty   bool          // an exam changed here: the next view reads the store first
	gen     int           // forget's changes, counted
	loading chan struct{} // closed when the load under way ends
	warned  time.Time     // when a failed read was last logged
	conns   map[string]int
	// presenceMu orders the writes of who is connected.
	presenceMu sync.Mutex
	finishes   map[string]chan struct{} // exams this instance is ending now: closed when done
	starting   map[string]bool          // exams Start is recording and opening here (Run leaves them)
	wg         sync.WaitGroup
}

// New makes the service.
func New(st *store.Store, ws *workspace.Workspace, as *assignment.Service, opts Options, log *slog.Logger) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	if opts.Beat <= 0 {
		opts.Beat = 10 * time.Second
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 2 * time.Second
	}
	if opts.Grace < 0 {
		opts.Grace = 0
	} else if opts.Grace == 0 {
		opts.Grace = opts.CacheFor + opts.Every + time.Second
	}
	if opts.Instance == "" {
		opts.Instance = "local"
	}
	return &Service{st: st, ws: ws, as: as, opts: opts, log: log, conns: map[string]int{}, finishes: map[string]chan struct{}{}, starting: map[string]bool{}}
}

// snapshot is every exam and its students as last read from the store.
type snapshot struct {
	exams  map[string]store.Exam
	byUser map[string][]string // username → exam ids
	byExam map[string][]string // exam id → usernames
	at     time.Time
}

// Folder is a student's exam folder.
func Folder(user, id string) string { return assignment.Folder(user, id) }

// InWindow reports whether e is under way at now.
func InWindow(e store.Exam, now time.Time) bool {
	return !now.Before(e.StartsAt) && now.Before(e.EndsAt)
}

// Over reports whether e's window has passed at now.
func Over(e store.Exam, now time.Time) bool { return !now.Before(e.EndsAt) }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// view is the exams as recently read. A snapshot older than CacheFor is
// read again in the background while it serves on; after forget (an exam
// changed here) the next view reads them first. When the store does not
// answer, the last ones read serve on: an error only when none ever were.
func (s *Service) view(ctx context.Context) (*snapshot, error) {
	s.mu.Lock()
	snap, dirty, gen := s.snap, s.dirty, s.gen
	if snap != nil && !dirty {
		if s.opts.Now().Sub(snap.at) >= s.opts.CacheFor && s.loading == nil {
			s.loading = make(chan struct{})
			go s.reload(context.Background(), snap, -1)
		}
		s.mu.Unlock()
		return snap, nil
	}
	if wait := s.loading; wait != nil {
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, s.failed(ctx.Err())
		}
		return s.view(ctx)
	}
	s.loading = make(chan struct{})
	s.mu.Unlock()
	return s.reload(ctx, snap, gen)
}

// reload reads the exams (the caller set s.loading) and installs them; read
// after forget's gen-th change (gen; -1: in the background), they are clean.
func (s *Service) reload(ctx context.Context, prev *snapshot, gen int) (*snapshot, error) {
	fresh, err := s.load(ctx, prev)
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.loading)
	s.loading = nil
	if err == nil {
		s.snap = fresh
		if gen == s.gen {
			s.dirty = false
		}
		return fresh, nil
	}
	if s.snap == nil {
		return nil, s.failed(err)
	}
	s.snap.at = s.opts.Now().Add(time.Second - s.opts.CacheFor) // try again in a second
	if now := time.Now(); now.Sub(s.warned) > time.Minute {
		s.warned = now
		s.log.Warn("the exams cannot be read; the last ones read serve on", "err", err)
	}
	return s.snap, nil
}

// load reads the exams again; an exam's students never change once it is
// recorded, so only a new exam's are read (prev: the last snapshot, or nil).
func (s *Service) load(ctx context.Context, prev *snapshot) (*snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	exams, err := s.st.ListExams(ctx)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{exams: map[string]store.Exam{}, byUser: map[string][]string{}, byExam: map[string][]string{}, at: s.opts.Now()}
	var studs []store.ExamStudent
	if prev == nil {
		if studs, err = s.st.ExamStudents(ctx, ""); err != nil {
			return nil, err
		}
	}
	for _, e := range exams {
		id := e.Assignment
		snap.exams[id] = e
		if prev == nil {
			continue
		}
		users, ok := prev.byExam[id]
		if !ok {
			xs, err := s.st.ExamStudents(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, x := range xs {
				users = append(users, x.Username)
			}
		}
		for _, u := range users {
			studs = append(studs, store.ExamStudent{Exam: id, Username: u})
		}
	}
	for _, x := range studs {
		if _, ok := snap.exams[x.Exam]; !ok {
			continue // recorded after the exams were listed: the next load has it
		}
		snap.byUser[x.Username] = append(snap.byUser[x.Username], x.Exam)
		snap.byExam[x.Exam] = append(snap.byExam[x.Exam], x.Username)
	}
	for id := range snap.exams {
		if _, ok := snap.byExam[id]; !ok {
			snap.byExam[id] = nil // read, and none: not read again
		}
	}
	return snap, nil
}

// forget makes the next view read the store first.
func (s *Service) forget() {
	s.mu.Lock()
	s.dirty = true
	s.gen++
	s.mu.Unlock()
}

// current is the exam username sits at now, if any.
func (snap *snapshot) current(username string, now time.Time) (store.Exam, bool) {
	for _, id := range snap.byUser[username] {
		if e, ok := snap.exams[id]; ok && InWindow(e, now) {
			return e, true
		}
	}
	return store.Exam{}, false
}

// limits are username's limits at now: the fence of the exam they sit, the
// folders of the exams they sat read-only; nil when there are none.
func (snap *snapshot) limits(username string, now time.Time) *workspace.Limits {
	var lim workspace.Limits
	some := false
	for _, id := range snap.byUser[username] {
		e, ok := snap.exams[id]
		switch {
		case !ok:
		case InWindow(e, now):
			lim.Fence, lim.Courses, lim.Refusal = Folder(username, id), e.CourseNotes, Refusal
			if e.CourseNotes {
				lim.Refusal = RefusalWithNotes
			}
			some = true
		case Over(e, now):
			lim.ReadOnly = append(lim.ReadOnly, workspace.ReadOnly{Folder: Folder(username, id), Why: fmt.Sprintf(readOnlyAfter, id)})
			some = true
		}
	}
	if !some {
		return nil
	}
	return &lim
}

// Limits are what username may reach now (nil: no exam limits them). It
// answers from memory; an error only when the exams were never read.
func (s *Service) Limits(ctx context.Context, username string) (*workspace.Limits, error) {
	snap, err := s.view(ctx)
	if err != nil {
		return nil, err
	}
	return snap.limits(username, s.now()), nil
}

// Current is the exam username sits now, if any.
func (s *Service) Current(ctx context.Context, username string) (store.Exam, bool, error) {
	snap, err := s.view(ctx)
	if err != nil {
		return store.Exam{}, false, err
	}
	e, ok := snap.current(username, s.now())
	return e, ok, nil
}

// Note logs an event of username's for the exam they sit now; it does
// nothing when they sit none. A log that cannot be written is logged here,
// and never fails what it records.
func (s *Service) Note(ctx context.Context, username, kind, detail string) {
	snap, err := s.view(ctx)
	if err != nil {
		return
	}
	e, ok := snap.current(username, s.now())
	if !ok {
		return
	}
	s.event(ctx, e.Assignment, username, kind, detail)
}

// maxDetail bounds an event's detail.
const maxDetail = 500

func (s *Service) event(ctx context.Context, id, username, kind, detail string) {
	if len(detail) > maxDetail {
		detail = strings.ToValidUTF8(detail[:maxDetail], "")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.st.AddExamEvent(ctx, store.ExamEvent{Exam: id, Username: username, At: s.now(), Kind: kind, Detail: detail}); err != nil {
		s.log.Warn("an exam event could not be logged", "exam", id, "user", username, "kind", kind, "err", err)
	}
}

// Connected counts a WebSocket of username's on this instance; the first
// says so in the exam they sit, if any.
func (s *Service) Connected(ctx context.Context, username string) {
	s.mu.Lock()
	s.conns[username]++
	first := s.conns[username] == 1
	s.mu.Unlock()
	if first {
		s.presence(ctx, username)
	}
}

// Disconnected counts one fewer; the last says so.
func (s *Service) Disconnected(ctx context.Context, username string) {
	s.mu.Lock()
	s.conns[username]--
	last := s.conns[username] <= 0
	if last {
		delete(s.conns, username)
	}
	s.mu.Unlock()
	if last {
		s.presence(ctx, username)
	}
}

// presence records whether username is connected here now: one write at a
// time, each saying what holds when it is made, so a disconnection and a
// reconnection racing end with the truth.
func (s *Service) presence(ctx context.Context, username string) {
	snap, err := s.view(ctx)
	if err != nil {
		return
	}
	e, ok := snap.current(username, s.now())
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s.presenceMu.Lock()
	defer s.presenceMu.Unlock()
	s.mu.Lock()
	connected := s.conns[username] > 0
	s.mu.Unlock()
	if err := s.st.SetExamPresence(ctx, e.Assignment, username, connected, s.now()); err != nil {
		s.log.Warn("an exam student's connection could not be recorded", "exam", e.Assignment, "user", username, "err", err)
	}
}

// beat says again that the students connected here still are.
func (s *Service) beat(ctx context.Context, snap *snapshot, now time.Time) {
	s.mu.Lock()
	var here []string
	for u := range s.conns {
		here = append(here, u)
	}
	s.mu.Unlock()
	for _, u := range here {
		if _, ok := snap.current(u, now); ok {
			s.presence(ctx, u) // still here, unless they left meanwhile
		}
	}
}

func (s *Service) failed(err error) error {
	return fault.Wrap(err, ErrFailed, "The exams cannot be read or saved right now. Please try again.")
}

func invalid(format string, args ...any) error { return fault.New(ErrInvalid, format, args...) }

// message is a refusal's own words.
func message(err error) string {
	if m, ok := fault.Message(err); ok {
		return m
	}
	return "Something went wrong on the server."
}

// sorted is a sorted copy without repeats.
func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
