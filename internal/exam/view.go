package exam

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"time"

	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/store"
)

// View is an exam as the API shows it (docs/api.md, "Exams").
type View struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	Minutes     int        `json:"minutes"`
	CourseNotes bool       `json:"course_notes"`
	State       string     `json:"state"` // scheduled, open, ending, ended
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	OpenedAt    *time.Time `json:"opened_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Students    []string   `json:"students"`
	// The live view (one exam's detail only).
	Live []Live `json:"live,omitempty"`
}

// Live is one student's row of the teacher's live view.
type Live struct {
	Username    string     `json:"username"`
	FullName    string     `json:"full_name"`
	Connected   bool       `json:"connected"`
	SeenAt      *time.Time `json:"seen_at"` // when their connection was last heard of
	LastLogin   *time.Time `json:"last_login"`
	LastSave    *time.Time `json:"last_save"`
	LastRun     *time.Time `json:"last_run"` // a run or a REPL
	Saves       int        `json:"saves"`
	Runs        int        `json:"runs"`
	Denied      int        `json:"denied"`
	Submitted   bool       `json:"submitted"`   // a submission of the exam exists
	Submissions int        `json:"submissions"` // how many
	// Final is the submission the end made of their folder ("" until then,
	// and for a student with no folder).
	Final string `json:"final"`
}

// Mine is what a student sees of the exam they sit (GET /api/exam).
type Mine struct {
	ID               string    `json:"id"`
	Title            string    `json:"title"`
	StartsAt         time.Time `json:"starts_at"`
	EndsAt           time.Time `json:"ends_at"`
	RemainingSeconds int       `json:"remaining_seconds"`
	Folder           string    `json:"folder"`
	CourseNotes      bool      `json:"course_notes"`
	// Courses are the course folders open during it (with CourseNotes).
	Courses []string `json:"courses"`
}

// Event is a line of the log as the API shows it.
type Event struct {
	ID       int64     `json:"id"`
	Username string    `json:"username"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Detail   string    `json:"detail"`
}

// state of e at now.
func state(e store.Exam, now time.Time) string {
	switch {
	case now.Before(e.StartsAt):
		return "scheduled"
	case InWindow(e, now):
		return "open"
	case e.FinishedAt.IsZero():
		return "ending"
	}
	return "ended"
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) viewOf(ctx context.Context, e store.Exam, students []string) View {
	v := View{ID: e.Assignment, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Minutes: int(math.Round(e.EndsAt.Sub(e.StartsAt).Minutes())),
		CourseNotes: e.CourseNotes, State: state(e, s.now()), CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt,
		OpenedAt: optTime(e.OpenedAt), FinishedAt: optTime(e.FinishedAt), Students: students}
	if v.Students == nil {
		v.Students = []string{}
	}
	if a, err := s.as.Get(ctx, e.Assignment); err == nil {
		v.Title = a.Title
	}
	return v
}

// List lists every exam by start.
func (s *Service) List(ctx context.Context) ([]View, error) {
	exams, err := s.st.ListExams(ctx)
	if err != nil {
		return nil, s.failed(err)
	}
	studs, err := s.st.ExamStudents(ctx, "")
	if err != nil {
		return nil, s.failed(err)
	}
	by := map[string][]string{}
	for _, x := range studs {
		by[x.Exam] = append(by[x.Exam], x.Username)
	}
	out := make([]View, 0, len(exams))
	for _, e := range exams {
		out = append(out, s.viewOf(ctx, e, by[e.Assignment]))
	}
	return out, nil
}

// Get is one exam with its live view: per student whether they are
// connected (the instance holding their WebSocket says so, and has said it
// within 3 beats), their last login, save and run, how often they saved,
// ran and were refused, and what they handed in.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	e, err := s.st.GetExam(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return View{}, fault.New(ErrNotFound, "There is no exam %q.", id)
	}
	if err != nil {
		return View{}, s.failed(err)
	}
	studs, err := s.st.ExamStudents(ctx, id)
	if err != nil {
		return View{}, s.failed(err)
	}
	act, err := s.st.ExamActivity(ctx, id)
	if err != nil {
		return View{}, s.failed(err)
	}
	subs, err := s.st.Submissions(ctx, id, "")
	if err != nil {
		return View{}, s.failed(err)
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return View{}, s.failed(err)
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.Username] = u.FullName
	}
	now := s.now()
	var list []string
	rows := map[string]*Live{}
	live := make([]Live, len(studs))
	for i, x := range studs {
		list = append(list, x.Username)
		l := &live[i]
		*l = Live{Username: x.Username, FullName: names[x.Username], SeenAt: optTime(x.SeenAt), Final: x.Final,
			Connected: x.Connected && InWindow(e, now) && now.Sub(x.SeenAt) < 3*s.opts.Beat}
		rows[x.Username] = l
	}
	later := func(p **time.Time, t time.Time) {
		if *p == nil || t.After(**p) {
			*p = optTime(t)
		}
	}
	for _, a := range act {
		l := rows[a.Username]
		if l == nil {
			continue
		}
		switch a.Kind {
		case "login":
			later(&l.LastLogin, a.Last)
		case "save":
			later(&l.LastSave, a.Last)
			l.Saves += a.Count
		case "run", "repl":
			later(&l.LastRun, a.Last)
			l.Runs += a.Count
		case "denied":
			l.Denied += a.Count
		}
	}
	for _, x := range subs {
		if l := rows[x.Username]; l != nil {
			l.Submitted = true
			l.Submissions++
		}
	}
	v := s.viewOf(ctx, e, list)
	v.Live = live
	return v, nil
}

// Events is exam id's log after event after, oldest first (at most limit;
// username "" for everyone's).
func (s *Service) Events(ctx context.Context, id, username string, after int64, limit int) ([]Event, error) {
	if _, err := s.st.GetExam(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(ErrNotFound, "There is no exam %q.", id)
	} else if err != nil {
		return nil, s.failed(err)
	}
	evs, err := s.st.ExamEvents(ctx, id, username, after, limit)
	if err != nil {
		return nil, s.failed(err)
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, Event{ID: e.ID, Username: e.Username, At: e.At, Kind: e.Kind, Detail: e.Detail})
	}
	return out, nil
}

// MineNow is the exam username sits now, as they see it; nil when none.
func (s *Service) MineNow(ctx context.Context, username string) (*Mine, error) {
	e, ok, err := s.Current(ctx, username)
	if err != nil || !ok {
		return nil, err
	}
	m := &Mine{ID: e.Assignment, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Folder: Folder(username, e.Assignment),
		CourseNotes: e.CourseNotes, Courses: []string{},
		RemainingSeconds: int(math.Ceil(e.EndsAt.Sub(s.now()).Seconds()))}
	if a, err := s.as.Get(ctx, e.Assignment); err == nil {
		m.Title = a.Title
	}
	if e.CourseNotes {
		if cs, err := s.ws.CourseFolders(); err == nil {
			for _, c := range cs {
				m.Courses = append(m.Courses, filepath.Base(c))
			}
		}
	}
	return m, nil
}
