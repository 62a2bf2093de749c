package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Exam is an assignment sat in a time window by some students
// (internal/exam). The start and the end are each done by one instance:
// it claims the phase (StartedAt/By, EndedAt/By) and marks it done
// (OpenedAt, FinishedAt); a claim older than the caller's stale time with
// no mark is taken over.
type Exam struct {
	Assignment       string
	StartsAt, EndsAt time.Time // UTC; the window is [StartsAt, EndsAt)
	CourseNotes      bool      // the course folders are open during it
	CreatedBy        string
	CreatedAt        time.Time
	StartedAt        time.Time // zero until an instance began opening it
	StartedBy        string
	OpenedAt         time.Time // zero until every folder was handed out
	EndedAt          time.Time // zero until an instance began ending it
	EndedBy          string
	FinishedAt       time.Time // zero until every folder was handed in
}

// ExamStudent is one student of an exam.
type ExamStudent struct {
	Exam, Username string
	// Connected is what the instance that holds the student's WebSocket
	// last wrote, at SeenAt (it writes again while they stay).
	Connected bool
	SeenAt    time.Time
	Final     string // the submission made at the end; "" until then
}

// ExamEvent is one line of an exam's log.
type ExamEvent struct {
	ID             int64
	Exam, Username string
	At             time.Time
	Kind           string // ExamEventKinds
	Detail         string
}

// ExamEventKinds are the kinds of ExamEvent.
var ExamEventKinds = []string{"login", "save", "mkdir", "move", "copy", "delete", "run", "repl", "submit", "denied"}

// ExamActivity is the last event of one kind by one student of an exam.
type ExamActivity struct {
	Username, Kind string
	Last           time.Time
	Count          int
}

const examColumns = `assignment, starts_at, ends_at, course_notes, created_by, created_at, started_at, started_by, opened_at, ended_at, ended_by, finished_at`

func scanExam(r rowScanner) (Exam, error) {
	var e Exam
	err := r.Scan(&e.Assignment, timeCol{&e.StartsAt}, timeCol{&e.EndsAt}, &e.CourseNotes, &e.CreatedBy, timeCol{&e.CreatedAt},
		timeCol{&e.StartedAt}, &e.StartedBy, timeCol{&e.OpenedAt}, timeCol{&e.EndedAt}, &e.EndedBy, timeCol{&e.FinishedAt})
	return e, err
}

// CreateExam records e with its students in one transaction: ErrExists if
// the assignment is an exam already, ErrNotFound if the assignment or a
// student does not exist.
func (s *Store) CreateExam(ctx context.Context, e Exam, students []string) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO exams (assignment, starts_at, ends_at, course_notes, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, e.Assignment, s.d.timeArg(e.StartsAt), s.d.timeArg(e.EndsAt), e.CourseNotes,
			e.CreatedBy, s.d.timeArg(e.CreatedAt)); err != nil {
			return err
		}
		for _, u := range students {
			if _, err := tx.ExecContext(ctx, `INSERT INTO exam_students (exam, username) VALUES ($1, $2)`, e.Assignment, u); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("store: exam %q: %w", e.Assignment, ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: exam %q: its assignment or a student: %w", e.Assignment, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: create exam %q: %w", e.Assignment, err)
	}
	return nil
}

// GetExam returns one exam or ErrNotFound.
func (s *Store) GetExam(ctx context.Context, id string) (Exam, error) {
	e, err := scanExam(s.db.QueryRowContext(ctx, `SELECT `+examColumns+` FROM exams WHERE assignment = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Exam{}, fmt.Errorf("store: exam %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Exam{}, fmt.Errorf("store: exam %q: %w", id, err)
	}
	return e, nil
}

// ListExams lists every exam by start.
func (s *Store) ListExams(ctx context.Context) ([]Exam, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+examColumns+` FROM exams ORDER BY starts_at, assignment`)
	if err != nil {
		return nil, fmt.Errorf("store: list exams: %w", err)
	}
	defer rows.Close()
	var out []Exam
	for rows.Next() {
		e, err := scanExam(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list exams: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExamStudents lists the students of exam id ("" for every exam's), by
// exam and username.
func (s *Store) ExamStudents(ctx context.Context, id string) ([]ExamStudent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT exam, username, connected, seen_at, final FROM exam_students
		WHERE ($1 = '' OR exam = $1) ORDER BY exam, username`, id)
	if err != nil {
		return nil, fmt.Errorf("store: students of exam %q: %w", id, err)
	}
	defer rows.Close()
	var out []ExamStudent
	for rows.Next() {
		var x ExamStudent
		if err := rows.Scan(&x.Exam, &x.Username, &x.Connected, timeCol{&x.SeenAt}, &x.Final); err != nil {
			return nil, fmt.Errorf("store: students of exam %q: %w", id, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// ClaimExamStart takes the opening of exam id for instance by: true when
// its window has begun and not ended, it is not open yet, and nobody
// claimed it since stale.
func (s *Store) ClaimExamStart(ctx context.Context, id, by string, now, stale time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE exams SET started_at = $3, started_by = $2
		WHERE assignment = $1 AND starts_at <= $3 AND ends_at > $3 AND opened_at IS NULL
		AND (started_at IS NULL OR started_at < $4)`, id, by, s.d.timeArg(now), s.d.timeArg(stale))
	return claimed(res, err, "claim the start of exam "+id)
}

// ExamOpened marks exam id's opening done.
func (s *Store) ExamOpened(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE exams SET opened_at = $2 WHERE assignment = $1`, id, s.d.timeArg(at))
	return s.changedOne(res, err, "exam "+id)
}

// ClaimExamEnd takes the ending of exam id for instance by: true when its
// window is over, it is not finished, and nobody claimed it since stale.
func (s *Store) ClaimExamEnd(ctx context.Context, id, by string, now, stale time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE exams SET ended_at = $3, ended_by = $2
		WHERE assignment = $1 AND ends_at <= $3 AND finished_at IS NULL
		AND (ended_at IS NULL OR ended_at < $4)`, id, by, s.d.timeArg(now), s.d.timeArg(stale))
	return claimed(res, err, "claim the end of exam "+id)
}

// ExamFinished marks exam id's ending done.
func (s *Store) ExamFinished(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE exams SET finished_at = $2 WHERE assignment = $1`, id, s.d.timeArg(at))
	return s.changedOne(res, err, "exam "+id)
}

func claimed(res sql.Result, err error, what string) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return n == 1, nil
}

// EndExamNow moves exam id's end to now (and its start, if it had not come
// yet): false when its window was over already. ErrNotFound if there is
// no such exam.
func (s *Store) EndExamNow(ctx context.Context, id string, now time.Time) (bool, error) {
	t := s.d.timeArg(now)
	res, err := s.db.ExecContext(ctx, `UPDATE exams SET ends_at = $2,
		starts_at = CASE WHEN starts_at > $2 THEN $2 ELSE starts_at END
		WHERE assignment = $1 AND ends_at > $2`, id, t)
	ok, err := claimed(res, err, "end exam "+id)
	if err == nil && !ok {
		_, err = s.GetExam(ctx, id)
	}
	return ok, err
}

// SetExamFinal records the submission made of username's folder at the end.
func (s *Store) SetExamFinal(ctx context.Context, id, username, submission string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE exam_students SET final = $3 WHERE exam = $1 AND username = $2`, id, username, submission)
	return s.changedOne(res, err, "student "+username+" of exam "+id)
}

// SetExamPresence records whether username is connected, as of at.
func (s *Store) SetExamPresence(ctx context.Context, id, username string, connected bool, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE exam_students SET connected = $3, seen_at = $4 WHERE exam = $1 AND username = $2`,
		id, username, connected, s.d.timeArg(at))
	return s.changedOne(res, err, "student "+username+" of exam "+id)
}

// AddExamEvent appends an event to its exam's log.
func (s *Store) AddExamEvent(ctx context.Context, e ExamEvent) error {
	known := false
	for _, k := range ExamEventKinds {
		known = known || k == e.Kind
	}
	if !known {
		return fmt.Errorf("store: exam event of unknown kind %q", e.Kind)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO exam_events (exam, username, at, kind, detail) VALUES ($1, $2, $3, $4, $5)`,
		e.Exam, e.Username, s.d.timeArg(e.At), e.Kind, e.Detail)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("store: exam %q: %w", e.Exam, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: event of exam %q: %w", e.Exam, err)
	}
	return nil
}

// ExamEvents lists exam id's events after the event numbered after (0:
// from the first), oldest first, at most limit of them; username "" for
// every student's.
func (s *Store) ExamEvents(ctx context.Context, id, username string, after int64, limit int) ([]ExamEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, exam, username, at, kind, detail FROM exam_events
		WHERE exam = $1 AND ($2 = '' OR username = $2) AND id > $3 ORDER BY id LIMIT $4`, id, username, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events of exam %q: %w", id, err)
	}
	defer rows.Close()
	var out []ExamEvent
	for rows.Next() {
		var e ExamEvent
		if err := rows.Scan(&e.ID, &e.Exam, &e.Username, timeCol{&e.At}, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: events of exam %q: %w", id, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExamActivity is, for each student and kind of event of exam id, the last
// one's time and how many there were.
func (s *Store) ExamActivity(ctx context.Context, id string) ([]ExamActivity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username, kind, MAX(at), COUNT(*) FROM exam_events
		WHERE exam = $1 GROUP BY username, kind ORDER BY username, kind`, id)
	if err != nil {
		return nil, fmt.Errorf("store: activity of exam %q: %w", id, err)
	}
	defer rows.Close()
	var out []ExamActivity
	for rows.Next() {
		var a ExamActivity
		if err := rows.Scan(&a.Username, &a.Kind, timeCol{&a.Last}, &a.Count); err != nil {
			return nil, fmt.Errorf("store: activity of exam %q: %w", id, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// KeepNewestSession ends every session of username but the one opened
// last (an exam's single session, whatever --single-session says), and
// returns how many it ended.
func (s *Store) KeepNewestSession(ctx context.Context, username string) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE username = $1 AND id <> (
		SELECT id FROM user_sessions WHERE username = $1 ORDER BY login_time DESC, id DESC LIMIT 1)`, username)
	if err != nil {
		return 0, fmt.Errorf("store: keep the newest session of %q: %w", username, err)
	}
	return res.RowsAffected()
}
