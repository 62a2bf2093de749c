package roster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pythonide/pythonide/internal/fault"
)

// MaxImportRows bounds one roster file.
const MaxImportRows = 5000

// ImportRow is the outcome of one line of the roster.
type ImportRow struct {
	Line     int    `json:"line"`
	Username string `json:"username"`
	Status   string `json:"status"` // created | skipped | failed
	Message  string `json:"message,omitempty"`
	Password string `json:"password,omitempty"` // only when generated
}

// ImportResult counts what an import did, line by line.
type ImportResult struct {
	Created int         `json:"created"`
	Skipped int         `json:"skipped"`
	Failed  int         `json:"failed"`
	Rows    []ImportRow `json:"rows"`
}

// Import reads a CSV roster with a header row naming the columns username,
// password, full_name and role (any order; only username is required). An
// empty password is generated and reported; a bcrypt hash ($2a$/$2b$/$2y$)
// is imported as it is, so an existing class keeps its passwords. Existing
// users are skipped, never changed. One bad line does not stop the others.
func (r *Roster) Import(ctx context.Context, src io.Reader) (ImportResult, error) {
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return ImportResult{}, fault.New(ErrInvalid, "The roster is empty: it needs a header row username,password,full_name,role.")
	}
	if err != nil {
		return ImportResult{}, fault.Wrap(err, ErrInvalid, "The roster is not valid CSV.")
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		col[h] = i
	}
	if _, ok := col["username"]; !ok {
		return ImportResult{}, fault.New(ErrInvalid, "The roster's first row must name the columns, including username (e.g. username,password,full_name,role).")
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var res ImportResult
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if line-1 > MaxImportRows {
			return res, fault.New(ErrTooLarge, "The roster has more than %d rows; split it into several files.", MaxImportRows)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				res.add(ImportRow{Line: line, Status: "failed", Message: fmt.Sprintf("not valid CSV: %v", pe.Err)})
				continue
			}
			return res, fault.Wrap(err, ErrInvalid, "The roster could not be read.")
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		row := ImportRow{Line: line, Username: field(rec, "username")}
		role, err := ParseRole(field(rec, "role"))
		if err != nil {
			row.Status, row.Message = "failed", rowMessage(err)
			res.add(row)
			continue
		}
		nu := NewUser{Username: row.Username, Role: role, FullName: field(rec, "full_name")}
		if pw := field(rec, "password"); isBcrypt(pw) {
			nu.PasswordHash = pw
		} else {
			nu.Password = pw
		}
		created, err := r.Create(ctx, nu)
		switch {
		case errors.Is(err, ErrTaken):
			row.Status, row.Message = "skipped", "already exists"
		case err != nil:
			row.Status, row.Message = "failed", rowMessage(err)
		default:
			row.Status, row.Password = "created", created.Password
		}
		res.add(row)
	}
	return res, nil
}

func (res *ImportResult) add(row ImportRow) {
	switch row.Status {
	case "created":
		res.Created++
	case "skipped":
		res.Skipped++
	default:
		res.Failed++
	}
	res.Rows = append(res.Rows, row)
}

func isBcrypt(s string) bool {
	return len(s) == 60 && (strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$"))
}

// rowMessage is what a failed row says: the refusal's own words, or a
// plain sentence for a failure that has none.
func rowMessage(err error) string {
	if m, ok := fault.Message(err); ok {
		return m
	}
	return "Something went wrong on the server. Please try again."
}
