package assignment

import (
	"encoding/json"
	"time"

	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
)

// View is an assignment as the API shows it (docs/api.md, "Assignments").
type View struct {
	ID               string             `json:"id"`
	Title            string             `json:"title"`
	Instructions     string             `json:"instructions"`
	InstructionsHTML string             `json:"instructions_html"`
	Starter          string             `json:"starter,omitempty"`
	DueAt            time.Time          `json:"due_at"`
	DueLocal         string             `json:"due_local"`
	TimeZone         string             `json:"time_zone"`
	LateMinutes      int                `json:"late_minutes"`
	Feedback         string             `json:"feedback"`
	TestSeconds      int                `json:"test_seconds"`
	Points           map[string]float64 `json:"points,omitempty"`
	PublishedAt      *time.Time         `json:"published_at"`
	CreatedBy        string             `json:"created_by,omitempty"`
	CreatedAt        *time.Time         `json:"created_at,omitempty"`
	Tests            []TestInfo         `json:"tests,omitempty"`

	// A student's own view.
	Folder      string          `json:"folder,omitempty"`
	State       string          `json:"state,omitempty"`
	Submissions any             `json:"submissions,omitempty"` // a count in a list, the list in a detail
	Counted     *SubmissionView `json:"counted,omitempty"`
	Submitted   *int            `json:"submitted,omitempty"` // teacher's list: students who handed in
}

// TestInfo names a test file.
type TestInfo struct {
	Name  string `json:"name"`
	Bytes int    `json:"bytes"`
}

// TeacherView is everything of a.
func TeacherView(a store.Assignment, tests []store.TestFile) View {
	v := base(a)
	v.Starter, v.Points, v.CreatedBy = a.Starter, a.Points, a.CreatedBy
	created := a.CreatedAt
	v.CreatedAt = &created
	for _, t := range tests {
		v.Tests = append(v.Tests, TestInfo{t.Name, len(t.Content)})
	}
	return v
}

// StudentView is what user sees of a at now, with their submissions
// (newest first in a detail; only the count and the counted one in a list).
func StudentView(a store.Assignment, user string, now time.Time, mine []store.Submission, detail bool) View {
	v := base(a)
	v.Folder, v.State = Folder(user, a.ID), State(a, now)
	c := Counting(mine)
	if c != nil {
		sv := SubmissionOf(*c, true, a.Feedback == "all", false)
		v.Counted = &sv
	}
	if !detail {
		v.Submissions = len(mine)
		return v
	}
	list := make([]SubmissionView, 0, len(mine))
	for i := len(mine) - 1; i >= 0; i-- {
		list = append(list, SubmissionOf(mine[i], c != nil && mine[i].ID == c.ID, a.Feedback == "all", false))
	}
	v.Submissions = list
	return v
}

func base(a store.Assignment) View {
	v := View{ID: a.ID, Title: a.Title, Instructions: a.Instructions, InstructionsHTML: Instructions(a.Instructions),
		DueAt: a.DueAt, DueLocal: Local(a, a.DueAt), TimeZone: a.TimeZone, LateMinutes: a.LateMinutes,
		Feedback: a.Feedback, TestSeconds: a.TestSeconds}
	if !a.PublishedAt.IsZero() {
		p := a.PublishedAt
		v.PublishedAt = &p
	}
	return v
}

// SubmissionView is a submission as the API shows it.
type SubmissionView struct {
	ID          string    `json:"id"`
	Assignment  string    `json:"assignment"`
	Username    string    `json:"username"`
	Seq         int       `json:"seq"`
	SubmittedAt time.Time `json:"submitted_at"`
	Late        bool      `json:"late"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	Chosen      bool      `json:"chosen"`
	Counts      bool      `json:"counts"`
	Comment     string    `json:"comment"`
	Grade       GradeView `json:"grade"`
	Paths       []string  `json:"paths,omitempty"`
}

// GradeView is a submission's grade.
type GradeView struct {
	State    string     `json:"state"`
	Score    float64    `json:"score"`
	MaxScore float64    `json:"max_score"`
	Passed   int        `json:"passed"`
	Total    int        `json:"total"`
	GradedAt *time.Time `json:"graded_at,omitempty"`
	Results  []Result   `json:"results,omitempty"`
}

// SubmissionOf shows x; results (every test's status and message) only if
// all, outputs only for a teacher.
func SubmissionOf(x store.Submission, counts, all, teacher bool) SubmissionView {
	v := SubmissionView{ID: x.ID, Assignment: x.Assignment, Username: x.Username, Seq: x.Seq, SubmittedAt: x.SubmittedAt,
		Late: x.Late, Files: x.Files, Bytes: x.Bytes, Chosen: x.Chosen, Counts: counts, Comment: x.Comment,
		Grade: GradeView{State: x.GradeState, Score: x.Score, MaxScore: x.MaxScore}}
	if !x.GradedAt.IsZero() && (x.GradeState == Done || x.GradeState == Failed) {
		g := x.GradedAt
		v.Grade.GradedAt = &g
	}
	var results []Result
	json.Unmarshal(x.Results, &results)
	for _, r := range results {
		v.Grade.Total++
		if r.Status == runner.TestPassed {
			v.Grade.Passed++
		}
	}
	if all || teacher || x.GradeState == Failed { // why it could not be graded is the server's, not the tests'
		for i := range results {
			if !teacher {
				results[i].Output = ""
			}
		}
		v.Grade.Results = results
	}
	if x.GradeState == Queued || x.GradeState == Running {
		v.Grade.Score, v.Grade.MaxScore, v.Grade.Passed, v.Grade.Total, v.Grade.Results = 0, 0, 0, 0, nil
	}
	return v
}

// Counting is the submission that counts among one student's of one
// assignment (by seq): the chosen one, else the last.
func Counting(xs []store.Submission) *store.Submission {
	var last *store.Submission
	for i := range xs {
		if xs[i].Chosen {
			return &xs[i]
		}
		if last == nil || xs[i].Seq > last.Seq {
			last = &xs[i]
		}
	}
	return last
}
