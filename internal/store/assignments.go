package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Assignment is a piece of homework: what students see, when it is due,
// and how it is graded. The caller validates the fields.
type Assignment struct {
	ID, Title, Instructions string
	// Starter is the workspace folder whose files publishing copies into
	// each student's Local/<user>/<ID>/ ("" for none).
	Starter     string
	DueAt       time.Time // UTC
	TimeZone    string    // IANA name the due date is shown in
	LateMinutes int       // submissions this long after DueAt are accepted, marked late
	Feedback    string    // "all": students see every test's result; "summary": the score only
	TestSeconds int       // wall-clock limit of each test file's run
	// Points maps a test ("file.py::name") to its points; unlisted tests
	// count 1.
	Points      map[string]float64
	CreatedBy   string
	CreatedAt   time.Time // UTC
	PublishedAt time.Time // UTC; zero until published
}

const assignmentColumns = `id, title, instructions, starter, due_at, time_zone, late_minutes, feedback, test_seconds, points, created_by, created_at, published_at`

func scanAssignment(r rowScanner) (Assignment, error) {
	var a Assignment
	var points json.RawMessage
	err := r.Scan(&a.ID, &a.Title, &a.Instructions, &a.Starter, timeCol{&a.DueAt}, &a.TimeZone, &a.LateMinutes,
		&a.Feedback, &a.TestSeconds, jsonCol{&points}, &a.CreatedBy, timeCol{&a.CreatedAt}, timeCol{&a.PublishedAt})
	if err == nil {
		err = json.Unmarshal(points, &a.Points)
	}
	return a, err
}

func pointsArg(p map[string]float64) (string, error) {
	if p == nil {
		p = map[string]float64{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// CreateAssignment inserts a; ErrExists if its id is taken.
func (s *Store) CreateAssignment(ctx context.Context, a Assignment) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	points, err := pointsArg(a.Points)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO assignments (`+assignmentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		a.ID, a.Title, a.Instructions, a.Starter, s.d.timeArg(a.DueAt), a.TimeZone, a.LateMinutes, a.Feedback,
		a.TestSeconds, points, a.CreatedBy, s.d.timeArg(a.CreatedAt), s.d.nullTimeArg(a.PublishedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("store: assignment %q: %w", a.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store: create assignment %q: %w", a.ID, err)
	}
	return nil
}

// UpdateAssignment replaces everything of a but its id, creator, creation
// and publication; ErrNotFound if there is none.
func (s *Store) UpdateAssignment(ctx context.Context, a Assignment) error {
	points, err := pointsArg(a.Points)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE assignments SET title = $2, instructions = $3, starter = $4, due_at = $5,
		time_zone = $6, late_minutes = $7, feedback = $8, test_seconds = $9, points = $10 WHERE id = $1`,
		a.ID, a.Title, a.Instructions, a.Starter, s.d.timeArg(a.DueAt), a.TimeZone, a.LateMinutes, a.Feedback, a.TestSeconds, points)
	return s.changedOne(res, err, "assignment "+a.ID)
}

// PublishAssignment records when id was published (the first time only).
func (s *Store) PublishAssignment(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE assignments SET published_at = COALESCE(published_at, $2) WHERE id = $1`,
		id, s.d.timeArg(at))
	return s.changedOne(res, err, "assignment "+id)
}

// GetAssignment returns one assignment or ErrNotFound.
func (s *Store) GetAssignment(ctx context.Context, id string) (Assignment, error) {
	a, err := scanAssignment(s.db.QueryRowContext(ctx, `SELECT `+assignmentColumns+` FROM assignments WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Assignment{}, fmt.Errorf("store: assignment %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("store: assignment %q: %w", id, err)
	}
	return a, nil
}

// ListAssignments lists the assignments by due date (only the published
// ones if published).
func (s *Store) ListAssignments(ctx context.Context, published bool) ([]Assignment, error) {
	q := `SELECT ` + assignmentColumns + ` FROM assignments`
	if published {
		q += ` WHERE published_at IS NOT NULL`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY due_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list assignments: %w", err)
	}
	defer rows.Close()
	var out []Assignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list assignments: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAssignment removes an assignment with its tests and submission
// records (the caller removes the snapshots).
func (s *Store) DeleteAssignment(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM assignments WHERE id = $1`, id)
	return s.changedOne(res, err, "assignment "+id)
}

// TestFile is one of an assignment's test files.
type TestFile struct {
	Name, Content string
}

// PutTest stores (or replaces) a test file of assignment.
func (s *Store) PutTest(ctx context.Context, assignment string, t TestFile) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO assignment_tests (assignment, name, content) VALUES ($1, $2, $3)
		ON CONFLICT (assignment, name) DO UPDATE SET content = excluded.content`, assignment, t.Name, t.Content)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("store: assignment %q: %w", assignment, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: test %s of %s: %w", t.Name, assignment, err)
	}
	return nil
}

// DeleteTest removes a test file; ErrNotFound if there is none.
func (s *Store) DeleteTest(ctx context.Context, assignment, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM assignment_tests WHERE assignment = $1 AND name = $2`, assignment, name)
	return s.changedOne(res, err, "test "+name)
}

// Tests lists an assignment's test files by name.
func (s *Store) Tests(ctx context.Context, assignment string) ([]TestFile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, content FROM assignment_tests WHERE assignment = $1 ORDER BY name`, assignment)
	if err != nil {
		return nil, fmt.Errorf("store: tests of %s: %w", assignment, err)
	}
	defer rows.Close()
	var out []TestFile
	for rows.Next() {
		var t TestFile
		if err := rows.Scan(&t.Name, &t.Content); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Submission is one snapshot a student handed in, with its grade.
type Submission struct {
	ID, Assignment, Username string
	Seq                      int // 1, 2, … per student and assignment
	SubmittedAt              time.Time
	Late                     bool
	Files                    int
	Bytes                    int64
	Chosen                   bool   // the teacher picked it (otherwise the last counts)
	GradeState               string // "", "queued", "running", "done", "error"
	Score, MaxScore          float64
	Results                  json.RawMessage // array: the grader's per-test results
	GradedAt                 time.Time
	Comment                  string
}

const submissionColumns = `id, assignment, username, seq, submitted_at, late, files, bytes, chosen, grade_state, score, max_score, results, graded_at, comment`

func scanSubmission(r rowScanner) (Submission, error) {
	var x Submission
	err := r.Scan(&x.ID, &x.Assignment, &x.Username, &x.Seq, timeCol{&x.SubmittedAt}, &x.Late, &x.Files, &x.Bytes,
		&x.Chosen, &x.GradeState, &x.Score, &x.MaxScore, jsonCol{&x.Results}, timeCol{&x.GradedAt}, &x.Comment)
	return x, err
}

// AddSubmission records x with the next seq for its student and
// assignment (returned), unless they already have max; ErrLimit then.
func (s *Store) AddSubmission(ctx context.Context, x Submission, max int) (int, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM submissions WHERE assignment = $1 AND username = $2`,
			x.Assignment, x.Username).Scan(&x.Seq); err != nil {
			return err
		}
		if x.Seq > max {
			return ErrLimit
		}
		results, err := jsonArg(x.Results, '[', "[]")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO submissions (`+submissionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			x.ID, x.Assignment, x.Username, x.Seq, s.d.timeArg(x.SubmittedAt), x.Late, x.Files, x.Bytes, x.Chosen,
			x.GradeState, x.Score, x.MaxScore, results, s.d.nullTimeArg(x.GradedAt), x.Comment)
		return err
	})
	if isUniqueViolation(err) { // two submissions at once: the caller tries again
		return 0, fmt.Errorf("store: submission of %s: %w", x.Username, ErrExists)
	}
	if isForeignKeyViolation(err) {
		return 0, fmt.Errorf("store: assignment %q: %w", x.Assignment, ErrNotFound)
	}
	if err != nil && !errors.Is(err, ErrLimit) {
		return 0, fmt.Errorf("store: submission of %s: %w", x.Username, err)
	}
	return x.Seq, err
}

// GetSubmission returns one submission or ErrNotFound.
func (s *Store) GetSubmission(ctx context.Context, id string) (Submission, error) {
	x, err := scanSubmission(s.db.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Submission{}, fmt.Errorf("store: submission %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Submission{}, fmt.Errorf("store: submission %q: %w", id, err)
	}
	return x, nil
}

// Submissions lists the submissions of assignment ("" for all), of one
// student ("" for all), by student and seq.
func (s *Store) Submissions(ctx context.Context, assignment, username string) ([]Submission, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+submissionColumns+` FROM submissions
		WHERE ($1 = '' OR assignment = $1) AND ($2 = '' OR username = $2) ORDER BY assignment, username, seq`, assignment, username)
	if err != nil {
		return nil, fmt.Errorf("store: submissions: %w", err)
	}
	defer rows.Close()
	var out []Submission
	for rows.Next() {
		x, err := scanSubmission(rows)
		if err != nil {
			return nil, fmt.Errorf("store: submissions: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// SetGrade records a submission's grading state and, once done, its
// result.
func (s *Store) SetGrade(ctx context.Context, id, state string, score, max float64, results json.RawMessage, at time.Time) error {
	r, err := jsonArg(results, '[', "[]")
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET grade_state = $2, score = $3, max_score = $4, results = $5, graded_at = $6 WHERE id = $1`,
		id, state, score, max, r, s.d.nullTimeArg(at))
	return s.changedOne(res, err, "submission "+id)
}

// QueueGrading puts submissions back in the grading queue: the one with
// id, or ("" for id) every submission of assignment. It returns how many.
func (s *Store) QueueGrading(ctx context.Context, assignment, id string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET grade_state = 'queued', grading_by = '', grading_since = NULL
		WHERE ($1 = '' OR assignment = $1) AND ($2 = '' OR id = $2)`, assignment, id)
	if err != nil {
		return 0, fmt.Errorf("store: queue grading: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ClaimGrading takes the oldest queued submission for grader by (marking
// it running), or one whose grader claimed it before stale and never
// finished; ok is false when there is none. Two graders never take the
// same one: the update re-checks the state under the row's lock.
func (s *Store) ClaimGrading(ctx context.Context, by string, now, stale time.Time) (x Submission, ok bool, err error) {
	for range 5 { // another grader took the one we picked: pick again
		var id string
		err = s.db.QueryRowContext(ctx, `SELECT id FROM submissions
			WHERE grade_state = 'queued' OR (grade_state = 'running' AND grading_since < $1)
			ORDER BY submitted_at, id LIMIT 1`, s.d.timeArg(stale)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return Submission{}, false, nil
		}
		if err != nil {
			return Submission{}, false, fmt.Errorf("store: claim grading: %w", err)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE submissions SET grade_state = 'running', grading_by = $2, grading_since = $4
			WHERE id = $1 AND (grade_state = 'queued' OR (grade_state = 'running' AND grading_since < $3))`,
			id, by, s.d.timeArg(stale), s.d.timeArg(now))
		if err != nil {
			return Submission{}, false, fmt.Errorf("store: claim grading: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			x, err := s.GetSubmission(ctx, id)
			return x, err == nil, err
		}
	}
	return Submission{}, false, nil
}

// ReleaseGrading queues again what grader by had claimed (a grader that
// starts again under the same name gives back what it left running).
func (s *Store) ReleaseGrading(ctx context.Context, by string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET grade_state = 'queued', grading_by = '', grading_since = NULL
		WHERE grade_state = 'running' AND grading_by = $1`, by)
	if err != nil {
		return 0, fmt.Errorf("store: release grading: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FinishGrading records the grade of a submission that grader by still
// holds; false (and nothing changed) when it was queued again or taken
// over meanwhile.
func (s *Store) FinishGrading(ctx context.Context, id, by, state string, score, max float64, results json.RawMessage, at time.Time) (bool, error) {
	r, err := jsonArg(results, '[', "[]")
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET grade_state = $3, score = $4, max_score = $5, results = $6, graded_at = $7,
		grading_by = '', grading_since = NULL WHERE id = $1 AND grade_state = 'running' AND grading_by = $2`,
		id, by, state, score, max, r, s.d.nullTimeArg(at))
	if err != nil {
		return false, fmt.Errorf("store: finish grading %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetComment records the teacher's comment on a submission.
func (s *Store) SetComment(ctx context.Context, id, comment string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET comment = $2 WHERE id = $1`, id, comment)
	return s.changedOne(res, err, "submission "+id)
}

// ChooseSubmission makes id the one that counts for its student and
// assignment (the others lose the mark).
func (s *Store) ChooseSubmission(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var a, u string
		err := tx.QueryRowContext(ctx, `SELECT assignment, username FROM submissions WHERE id = $1`, id).Scan(&a, &u)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: submission %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE submissions SET chosen = (id = $3) WHERE assignment = $1 AND username = $2`, a, u, id)
		return err
	})
}

// changedOne turns an UPDATE or DELETE that matched no row into ErrNotFound.
func (s *Store) changedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}
