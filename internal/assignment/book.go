package assignment

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/pythonide/pythonide/internal/store"
)

// Book is the gradebook: every active student × every published
// assignment, the submission that counts in each cell.
type Book struct {
	Assignments []BookAssignment `json:"assignments"`
	Students    []BookStudent    `json:"students"`
}

// BookAssignment is a gradebook column.
type BookAssignment struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	DueAt    time.Time `json:"due_at"`
	MaxScore float64   `json:"max_score"` // of the graded submissions; 0 until one is
}

// BookStudent is a gradebook row; an assignment with no cell has nothing
// handed in.
type BookStudent struct {
	Username string          `json:"username"`
	FullName string          `json:"full_name"`
	Cells    map[string]Cell `json:"cells"`
}

// Cell is one student's counted submission of one assignment.
type Cell struct {
	Submission  string    `json:"submission"`
	Score       float64   `json:"score"`
	MaxScore    float64   `json:"max_score"`
	Late        bool      `json:"late"`
	SubmittedAt time.Time `json:"submitted_at"`
	State       string    `json:"state"`
}

// Gradebook builds the book.
func (s *Service) Gradebook(ctx context.Context) (Book, error) {
	as, err := s.List(ctx, true)
	if err != nil {
		return Book{}, err
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return Book{}, s.failed(err)
	}
	subs, err := s.Submissions(ctx, "", "")
	if err != nil {
		return Book{}, err
	}
	type key struct{ a, u string }
	by := map[key][]store.Submission{}
	for _, x := range subs {
		by[key{x.Assignment, x.Username}] = append(by[key{x.Assignment, x.Username}], x)
	}
	b := Book{Assignments: []BookAssignment{}, Students: []BookStudent{}}
	for _, a := range as {
		b.Assignments = append(b.Assignments, BookAssignment{ID: a.ID, Title: a.Title, DueAt: a.DueAt})
	}
	for _, u := range users {
		if u.Role != store.RoleStudent || !u.Active {
			continue
		}
		row := BookStudent{Username: u.Username, FullName: u.FullName, Cells: map[string]Cell{}}
		for i, a := range as {
			c := Counting(by[key{a.ID, u.Username}])
			if c == nil {
				continue
			}
			row.Cells[a.ID] = Cell{Submission: c.ID, Score: c.Score, MaxScore: c.MaxScore, Late: c.Late, SubmittedAt: c.SubmittedAt, State: c.GradeState}
			if c.GradeState == Done {
				b.Assignments[i].MaxScore = max(b.Assignments[i].MaxScore, c.MaxScore)
			}
		}
		b.Students = append(b.Students, row)
	}
	return b, nil
}

// CSV writes the book: one row per student, username and full name, then
// per assignment its score, late (yes/no) and submission time (RFC 3339,
// UTC); empty cells where nothing was handed in.
func (b Book) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"username", "full_name"}
	for _, a := range b.Assignments {
		head = append(head, a.ID+" score", a.ID+" late", a.ID+" submitted_at")
	}
	cw.Write(head)
	for _, s := range b.Students {
		row := []string{safeCell(s.Username), safeCell(s.FullName)}
		for _, a := range b.Assignments {
			c, ok := s.Cells[a.ID]
			switch {
			case !ok:
				row = append(row, "", "", "")
			default:
				score := ""
				if c.State == Done {
					score = strconv.FormatFloat(c.Score, 'f', -1, 64)
				}
				late := "no"
				if c.Late {
					late = "yes"
				}
				row = append(row, score, late, c.SubmittedAt.UTC().Format(time.RFC3339))
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// safeCell keeps a spreadsheet from reading a name as a formula.
func safeCell(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}
