// Package assignment is homework: a teacher's assignment with its starter
// files, due date and tests; publishing it into every student's home; a
// student's submissions as immutable snapshots; grading each submission
// with the tests in the sandbox (grade.go); and the gradebook (book.go).
// The records live in the store, the snapshots in a folder of their own on
// the data volume, outside every home.
package assignment

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// The kinds of the service's refusals (fault.Error kinds).
var (
	ErrInvalid  = errors.New("assignment: invalid")
	ErrNotFound = errors.New("assignment: not found")
	ErrExists   = errors.New("assignment: exists")
	ErrClosed   = errors.New("assignment: closed") // past the late allowance, or has submissions
	ErrLimit    = errors.New("assignment: limit reached")
	ErrFailed   = errors.New("assignment: the store failed")
)

// Bounds of what a teacher enters.
const (
	MaxLateMinutes  = 7 * 24 * 60
	MaxTestSeconds  = 120
	MaxTestBytes    = 256 << 10
	MaxTests        = 50
	MaxTitle        = 200
	MaxInstructions = 100_000
	MaxComment      = 10_000
)

// Grader runs a test file against a submission (runner.Runner).
type Grader interface {
	RunTests(ctx context.Context, t runner.TestRun) (runner.TestReport, error)
}

// Options configure a Service.
type Options struct {
	// Dir holds the snapshots: Dir/<assignment>/<user>/<submission>/.
	Dir string
	// MaxSubmissions a student may hand in per assignment; default 50.
	MaxSubmissions int
	// QuotaBytes bounds all of a student's snapshots together (a separate
	// area from the home, whose quota they do not use); default 100 MiB.
	QuotaBytes int64
	// Grader runs the tests; nil: submissions stay queued (a command
	// line tool, or an instance that does not grade).
	Grader Grader
	// GraderID names this grader in the queue (the instance).
	GraderID string
	Now      func() time.Time
}

// Service is the assignments of one class.
type Service struct {
	st   *store.Store
	ws   *workspace.Workspace
	opts Options
	log  *slog.Logger
	wake chan struct{}

	submitMu sync.Mutex // one snapshot per student at a time on this instance
	busy     map[string]bool
}

// New makes the service.
func New(st *store.Store, ws *workspace.Workspace, opts Options, log *slog.Logger) *Service {
	if opts.MaxSubmissions <= 0 {
		opts.MaxSubmissions = 50
	}
	if opts.QuotaBytes <= 0 {
		opts.QuotaBytes = 100 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.GraderID == "" {
		opts.GraderID = "grader-" + randomID()
	}
	return &Service{st: st, ws: ws, opts: opts, log: log, wake: make(chan struct{}, 1), busy: map[string]bool{}}
}

// Input is what a teacher sets; a nil field is left as it is (or its
// default, on create).
type Input struct {
	ID           *string             `json:"id"`
	Title        *string             `json:"title"`
	Instructions *string             `json:"instructions"`
	Starter      *string             `json:"starter"`
	DueAt        *string             `json:"due_at"`
	TimeZone     *string             `json:"time_zone"`
	LateMinutes  *int                `json:"late_minutes"`
	Feedback     *string             `json:"feedback"`
	TestSeconds  *int                `json:"test_seconds"`
	Points       *map[string]float64 `json:"points"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func invalid(format string, args ...any) error { return fault.New(ErrInvalid, format, args...) }

// apply sets in's fields on a, checking each.
func (s *Service) apply(prof workspace.Actor, a *store.Assignment, in Input) error {
	if in.Title != nil {
		a.Title = strings.TrimSpace(*in.Title)
	}
	if a.Title == "" || len(a.Title) > MaxTitle {
		return invalid("Give the assignment a title (up to %d characters).", MaxTitle)
	}
	if in.Instructions != nil {
		a.Instructions = *in.Instructions
	}
	if len(a.Instructions) > MaxInstructions {
		return invalid("The instructions are longer than %d characters.", MaxInstructions)
	}
	if in.Starter != nil {
		a.Starter = strings.Trim(strings.TrimSpace(*in.Starter), "/")
	}
	if a.Starter != "" {
		e, err := s.ws.Stat(prof, a.Starter)
		if err != nil {
			return invalid("The starter folder %q cannot be read: %s", a.Starter, message(err))
		}
		if e.Type != "dir" {
			return invalid("The starter %q is not a folder.", a.Starter)
		}
	}
	if in.TimeZone != nil {
		a.TimeZone = strings.TrimSpace(*in.TimeZone)
	}
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil || a.TimeZone == "Local" {
		return invalid("The time zone %q is unknown; use a name such as Europe/Berlin or America/Chicago.", a.TimeZone)
	}
	if in.DueAt != nil {
		due, err := parseDue(*in.DueAt, loc)
		if err != nil {
			return err
		}
		a.DueAt = due
	}
	if a.DueAt.IsZero() {
		return invalid("Give the assignment a due date (for example 2026-12-09T23:59).")
	}
	if in.LateMinutes != nil {
		a.LateMinutes = *in.LateMinutes
	}
	if a.LateMinutes < 0 || a.LateMinutes > MaxLateMinutes {
		return invalid("The late allowance is 0 to %d minutes (a week).", MaxLateMinutes)
	}
	if in.Feedback != nil {
		a.Feedback = *in.Feedback
	}
	if a.Feedback == "" {
		a.Feedback = "all"
	}
	if a.Feedback != "all" && a.Feedback != "summary" {
		return invalid(`Feedback is "all" (every test's result) or "summary" (the score only).`)
	}
	if in.TestSeconds != nil {
		a.TestSeconds = *in.TestSeconds
	}
	if a.TestSeconds == 0 {
		a.TestSeconds = 10
	}
	if a.TestSeconds < 1 || a.TestSeconds > MaxTestSeconds {
		return invalid("Each test may take 1 to %d seconds.", MaxTestSeconds)
	}
	if in.Points != nil {
		a.Points = *in.Points
	}
	for name, p := range a.Points {
		if p < 0 || p > 1000 || name == "" {
			return invalid("Points of %q must be between 0 and 1000.", name)
		}
	}
	return nil
}

// parseDue reads RFC 3339 with an offset, or a wall time in loc.
func parseDue(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, invalid("The due date %q cannot be read; write it as 2026-12-09T23:59 (in the assignment's time zone).", v)
}

// ParseTime reads a time as a due date is read: RFC 3339 with an offset,
// or a wall time (2026-12-09T23:59) in the time zone zone ("" for UTC).
func ParseTime(v, zone string) (time.Time, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return time.Time{}, invalid("The time zone %q is unknown; use a name such as Europe/Berlin or America/Chicago.", zone)
	}
	return parseDue(v, loc)
}

// Create makes an unpublished assignment of prof's.
func (s *Service) Create(ctx context.Context, prof workspace.Actor, in Input) (store.Assignment, error) {
	if in.ID == nil || !idPattern.MatchString(*in.ID) {
		return store.Assignment{}, invalid("The id is 1 to 64 lower-case letters, digits, dashes or underscores, starting with a letter or digit; it names the folder in each home.")
	}
	a := store.Assignment{ID: *in.ID, CreatedBy: prof.Username, CreatedAt: s.opts.Now().UTC()}
	if err := s.apply(prof, &a, in); err != nil {
		return store.Assignment{}, err
	}
	if err := s.st.CreateAssignment(ctx, a); err != nil {
		if errors.Is(err, store.ErrExists) {
			return store.Assignment{}, fault.New(ErrExists, "There is already an assignment %q.", a.ID)
		}
		return store.Assignment{}, s.failed(err)
	}
	return s.Get(ctx, a.ID)
}

// Update changes an assignment; its id, author and publication stay.
func (s *Service) Update(ctx context.Context, prof workspace.Actor, id string, in Input) (store.Assignment, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return a, err
	}
	if in.ID != nil && *in.ID != id {
		return store.Assignment{}, invalid("An assignment's id cannot change (it names each student's folder).")
	}
	if err := s.apply(prof, &a, in); err != nil {
		return store.Assignment{}, err
	}
	if err := s.st.UpdateAssignment(ctx, a); err != nil {
		return store.Assignment{}, s.mapStore(err, id)
	}
	return s.Get(ctx, id)
}

// Get returns one assignment, published or not.
func (s *Service) Get(ctx context.Context, id string) (store.Assignment, error) {
	a, err := s.st.GetAssignment(ctx, id)
	if err != nil {
		return store.Assignment{}, s.mapStore(err, id)
	}
	return a, nil
}

// Published returns an assignment a student may see.
func (s *Service) Published(ctx context.Context, id string) (store.Assignment, error) {
	a, err := s.Get(ctx, id)
	if err == nil && a.PublishedAt.IsZero() {
		err = fault.New(ErrNotFound, "There is no assignment %q.", id)
	}
	return a, err
}

// List lists the assignments (only the published ones if published).
func (s *Service) List(ctx context.Context, published bool) ([]store.Assignment, error) {
	as, err := s.st.ListAssignments(ctx, published)
	if err != nil {
		return nil, s.failed(err)
	}
	return as, nil
}

// Delete removes an assignment that nobody has handed in yet.
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	subs, err := s.st.Submissions(ctx, id, "")
	if err != nil {
		return s.failed(err)
	}
	if len(subs) > 0 {
		return fault.New(ErrClosed, "%q has %d submissions, which are kept: it cannot be deleted.", id, len(subs))
	}
	return s.mapStore(s.st.DeleteAssignment(ctx, id), id)
}

var testName = regexp.MustCompile(`^(test_[A-Za-z0-9_]*|[A-Za-z0-9_]+_test)\.py$`)

// PutTest stores a test file.
func (s *Service) PutTest(ctx context.Context, id, name, content string) error {
	if !testName.MatchString(name) {
		return invalid("A test file is named test_<something>.py or <something>_test.py, not %q.", name)
	}
	if len(content) > MaxTestBytes {
		return fault.New(ErrLimit, "A test file may hold up to %d KiB.", MaxTestBytes>>10)
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	tests, err := s.st.Tests(ctx, id)
	if err != nil {
		return s.failed(err)
	}
	if len(tests) >= MaxTests && !hasTest(tests, name) {
		return fault.New(ErrLimit, "An assignment may have up to %d test files.", MaxTests)
	}
	return s.mapStore(s.st.PutTest(ctx, id, store.TestFile{Name: name, Content: content}), id)
}

func hasTest(ts []store.TestFile, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Tests lists an assignment's test files.
func (s *Service) Tests(ctx context.Context, id string) ([]store.TestFile, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	ts, err := s.st.Tests(ctx, id)
	if err != nil {
		return nil, s.failed(err)
	}
	return ts, nil
}

// DeleteTest removes a test file.
func (s *Service) DeleteTest(ctx context.Context, id, name string) error {
	err := s.st.DeleteTest(ctx, id, name)
	if errors.Is(err, store.ErrNotFound) {
		return fault.New(ErrNotFound, "%q has no test file %q.", id, name)
	}
	return s.mapStore(err, id)
}

// Publish copies the starter files into Local/<user>/<id>/ of each user
// (never over what is there; the folder is made even without starter
// files) and marks the assignment published.
func (s *Service) Publish(ctx context.Context, prof workspace.Actor, id string, users []string) (store.Assignment, workspace.DistributeResult, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return a, workspace.DistributeResult{}, err
	}
	res := workspace.DistributeResult{Users: []workspace.DistributeOutcome{}}
	var entries []workspace.Entry
	if a.Starter != "" {
		if entries, err = s.ws.List(prof, a.Starter); err != nil {
			return a, res, invalid("The starter folder %q cannot be read: %s", a.Starter, message(err))
		}
	}
	for _, u := range users {
		o := workspace.DistributeOutcome{Username: u, Status: workspace.Skipped, Path: "Local/" + u + "/" + id}
		if err := s.ws.EnsureFolder(prof, o.Path); err != nil {
			o.Status, o.Reason = workspace.Failed, message(err)
		}
		for _, e := range entries {
			if o.Status == workspace.Failed {
				break
			}
			r, err := s.ws.Distribute(prof, a.Starter+"/"+e.Name, id, []string{u})
			switch {
			case err != nil:
				o.Status, o.Reason = workspace.Failed, message(err)
			case r.Failed > 0:
				o.Status, o.Reason = workspace.Failed, r.Users[0].Reason
			case r.Copied > 0:
				o.Status = workspace.Copied
			}
		}
		if o.Status == workspace.Skipped && len(entries) > 0 {
			o.Reason = "They already have every starter file; their work was left as it is."
		}
		if len(entries) == 0 && o.Status != workspace.Failed {
			o.Status = workspace.Copied // the (empty) folder is theirs
		}
		switch o.Status {
		case workspace.Copied:
			res.Copied++
		case workspace.Skipped:
			res.Skipped++
		default:
			res.Failed++
		}
		res.Users = append(res.Users, o)
	}
	if err := s.st.PublishAssignment(ctx, id, s.opts.Now()); err != nil {
		return a, res, s.mapStore(err, id)
	}
	a, err = s.Get(ctx, id)
	return a, res, err
}

// Deadline is the last moment a submission is taken.
func Deadline(a store.Assignment) time.Time {
	return a.DueAt.Add(time.Duration(a.LateMinutes) * time.Minute)
}

// State is open, late or closed at now.
func State(a store.Assignment, now time.Time) string {
	switch {
	case !now.After(a.DueAt):
		return "open"
	case !now.After(Deadline(a)):
		return "late"
	}
	return "closed"
}

// Local is t as a wall time in the assignment's time zone.
func Local(a store.Assignment, t time.Time) string {
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// Folder is the student's assignment folder.
func Folder(user, id string) string { return "Local/" + user + "/" + id }

// Submit hands in the student's folder Local/<user>/<id> as it is now: an
// immutable snapshot, recorded once it is whole, queued for grading.
func (s *Service) Submit(ctx context.Context, student workspace.Actor, id string) (store.Submission, error) {
	return s.submit(ctx, student, id, false)
}

// HandIn is Submit at the end of an exam (internal/exam): the folder is
// taken as it is whatever the deadline (the exam's end, which has just
// passed) and however often the student handed in before; it is on time.
func (s *Service) HandIn(ctx context.Context, student workspace.Actor, id string) (store.Submission, error) {
	return s.submit(ctx, student, id, true)
}

func (s *Service) submit(ctx context.Context, student workspace.Actor, id string, final bool) (store.Submission, error) {
	a, err := s.Published(ctx, id)
	if err != nil {
		return store.Submission{}, err
	}
	now := s.opts.Now()
	if !final && State(a, now) == "closed" {
		msg := fmt.Sprintf("Submissions for %q closed at %s (%s), when it was due.", a.Title, readable(a, a.DueAt), a.TimeZone)
		if a.LateMinutes > 0 {
			msg = fmt.Sprintf("Submissions for %q closed at %s (%s): it was due at %s, with %d minutes for late work.",
				a.Title, readable(a, Deadline(a)), a.TimeZone, readable(a, a.DueAt), a.LateMinutes)
		}
		return store.Submission{}, fault.New(ErrClosed, "%s", msg)
	}
	if !s.claimSubmit(student.Username) {
		return store.Submission{}, fault.New(ErrLimit, "Your previous submission is still being saved; wait a moment.")
	}
	defer s.releaseSubmit(student.Username)
	mine, err := s.st.Submissions(ctx, "", student.Username)
	if err != nil {
		return store.Submission{}, s.failed(err)
	}
	var used int64
	count := 0
	for _, x := range mine {
		used += x.Bytes
		if x.Assignment == id {
			count++
		}
	}
	most := s.opts.MaxSubmissions
	if final {
		most = count + 1 // the end's own snapshot is always taken
	}
	if count >= most {
		return store.Submission{}, fault.New(ErrLimit, "You have handed in %q %d times, the most there may be.", a.Title, count)
	}
	x := store.Submission{ID: randomID(), Assignment: id, Username: student.Username, SubmittedAt: now.UTC(),
		Late: !final && now.After(a.DueAt), GradeState: "queued"}
	dest := s.snapshotDir(x)
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return store.Submission{}, fault.Wrap(err, ErrFailed, "Your work could not be saved right now. Please try again.")
	}
	files, n, err := s.ws.Snapshot(student, Folder(student.Username, id), dest)
	if err != nil {
		return store.Submission{}, err
	}
	if used+n > s.opts.QuotaBytes {
		os.RemoveAll(dest)
		return store.Submission{}, fault.New(ErrLimit, "Your handed-in work would take more than %d MiB in all; ask your teacher.", s.opts.QuotaBytes>>20)
	}
	x.Files, x.Bytes = files, n
	for try := 0; ; try++ {
		x.Seq, err = s.st.AddSubmission(ctx, x, most)
		if !errors.Is(err, store.ErrExists) || try == 5 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dest)
		if errors.Is(err, store.ErrLimit) {
			return store.Submission{}, fault.New(ErrLimit, "You have handed in %q %d times, the most there may be.", a.Title, s.opts.MaxSubmissions)
		}
		return store.Submission{}, s.mapStore(err, id)
	}
	s.Wake()
	return s.st.GetSubmission(ctx, x.ID)
}

// readable is t in the assignment's time zone, for a sentence.
func readable(a store.Assignment, t time.Time) string {
	return strings.Replace(Local(a, t), "T", " ", 1)
}

func (s *Service) claimSubmit(user string) bool {
	s.submitMu.Lock()
	defer s.submitMu.Unlock()
	if s.busy[user] {
		return false
	}
	s.busy[user] = true
	return true
}

func (s *Service) releaseSubmit(user string) {
	s.submitMu.Lock()
	delete(s.busy, user)
	s.submitMu.Unlock()
}

func (s *Service) snapshotDir(x store.Submission) string {
	return filepath.Join(s.opts.Dir, x.Assignment, x.Username, x.ID)
}

// Submission returns one submission.
func (s *Service) Submission(ctx context.Context, sid string) (store.Submission, error) {
	x, err := s.st.GetSubmission(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return x, fault.New(ErrNotFound, "There is no such submission.")
	}
	if err != nil {
		return x, s.failed(err)
	}
	return x, nil
}

// Submissions lists submissions of an assignment ("" all) by a student ("" all).
func (s *Service) Submissions(ctx context.Context, id, user string) ([]store.Submission, error) {
	xs, err := s.st.Submissions(ctx, id, user)
	if err != nil {
		return nil, s.failed(err)
	}
	return xs, nil
}

// Comment records the teacher's comment.
func (s *Service) Comment(ctx context.Context, sid, comment string) (store.Submission, error) {
	if len(comment) > MaxComment {
		return store.Submission{}, invalid("A comment may hold up to %d characters.", MaxComment)
	}
	if err := s.st.SetComment(ctx, sid, comment); err != nil {
		return store.Submission{}, s.mapSubmission(err)
	}
	return s.Submission(ctx, sid)
}

// Choose makes sid the submission that counts for its student.
func (s *Service) Choose(ctx context.Context, sid string) (store.Submission, error) {
	if err := s.st.ChooseSubmission(ctx, sid); err != nil {
		return store.Submission{}, s.mapSubmission(err)
	}
	return s.Submission(ctx, sid)
}

// Regrade queues every submission of id again.
func (s *Service) Regrade(ctx context.Context, id string) (int, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return 0, err
	}
	n, err := s.st.QueueGrading(ctx, id, "")
	if err != nil {
		return 0, s.failed(err)
	}
	s.Wake()
	return n, nil
}

// Paths lists the files of a submission's snapshot.
func (s *Service) Paths(x store.Submission) ([]string, error) {
	root, err := os.OpenRoot(s.snapshotDir(x))
	if err != nil {
		return nil, fault.Wrap(err, ErrNotFound, "This submission's files are missing.")
	}
	defer root.Close()
	var out []string
	err = walkFiles(root, ".", func(p string) { out = append(out, p) })
	return out, err
}

// File reads one file of a submission's snapshot (at most max bytes).
func (s *Service) File(x store.Submission, p string, max int64) ([]byte, error) {
	p = strings.Trim(p, "/")
	if p == "" || strings.Contains(p, "\\") {
		return nil, invalid("Choose a file of the submission.")
	}
	root, err := os.OpenRoot(s.snapshotDir(x))
	if err != nil {
		return nil, fault.Wrap(err, ErrNotFound, "This submission's files are missing.")
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		return nil, fault.New(ErrNotFound, "The submission has no file %q.", p)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fault.New(ErrNotFound, "The submission has no file %q.", p)
	}
	if fi.Size() > max {
		return nil, fault.New(ErrLimit, "%q is larger than %d MiB.", p, max>>20)
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

func walkFiles(root *os.Root, dir string, found func(string)) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := e.Name()
		if dir != "." {
			p = dir + "/" + e.Name()
		}
		switch {
		case e.IsDir():
			if err := walkFiles(root, p, found); err != nil {
				return err
			}
		case e.Type().IsRegular():
			found(p)
		}
	}
	return nil
}

// Instructions renders Markdown safely: raw HTML is left out and links
// to javascript: and the like are dropped (goldmark's default).
func Instructions(md string) string {
	var b bytes.Buffer
	if err := goldmark.Convert([]byte(md), &b); err != nil {
		return ""
	}
	return b.String()
}

func (s *Service) mapStore(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fault.New(ErrNotFound, "There is no assignment %q.", id)
	}
	return s.failed(err)
}

func (s *Service) mapSubmission(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.New(ErrNotFound, "There is no such submission.")
	}
	return s.failed(err)
}

func (s *Service) failed(err error) error {
	return fault.Wrap(err, ErrFailed, "The assignments cannot be read or saved right now. Please try again.")
}

// message is a refusal's own words.
func message(err error) string {
	if m, ok := fault.Message(err); ok {
		return m
	}
	return "it cannot be read"
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
