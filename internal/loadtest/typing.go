package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// typing is ActType: a student typing a program, as the editor asks the
// server about it — a syntax check of the text with a mistake in it (the
// underline; the editor waits 300 ms after the last key, so keystroke →
// underline is that plus OpCheck), the same check once fixed, and a
// completion of "math.sq" (OpComplete). Each answer is checked: the
// mistake is found at its line, the fixed text is clean, sqrt is offered
// (unless the server says completions are not available).
func (s *student) typing(ctx context.Context) *opError {
	n := s.typed
	s.typed++
	path := s.home + "/typing.py"
	bad := fmt.Sprintf("import math\n\ndef area(r):\n    return math.pi * r ** 2\n\nprint(area(%d)\nfor i in range(3):\n    print(i)\n", n)
	var check struct {
		OK    bool `json:"ok"`
		Error *struct {
			Line int `json:"line"`
		} `json:"error"`
		Skipped bool `json:"skipped"`
	}
	// post asks the server; op "" leaves the timing to the caller.
	post := func(op Op, kind string, body any, into any) *opError {
		timed := s.timed
		if op == "" {
			timed = func(_ Op, f func() *opError) *opError { return f() }
		}
		return timed(op, func() *opError {
			b, h := jsonBody(body)
			res, err := s.http.do(ctx, kind, http.MethodPost, "/api/assist/"+kind, b, h)
			if err != nil {
				return err
			}
			if err := res.expect(kind, http.StatusOK); err != nil {
				return err
			}
			if json.Unmarshal(res.body, into) != nil {
				return failure(kind+": bad answer", "%.200s", res.body)
			}
			return nil
		})
	}
	if err := post(OpCheck, "check", map[string]any{"path": path, "source": bad}, &check); err != nil {
		return err
	}
	if !check.Skipped && (check.OK || check.Error == nil || check.Error.Line != 6) {
		return failure("check: mistake not found", "want the unclosed bracket of line 6, got ok=%v %+v", check.OK, check.Error)
	}
	check.OK, check.Error = false, nil
	good := strings.Replace(bad, fmt.Sprintf("print(area(%d)\n", n), fmt.Sprintf("print(area(%d))\n", n), 1)
	if err := post(OpCheck, "check", map[string]any{"path": path, "source": good}, &check); err != nil {
		return err
	}
	if !check.Skipped && !check.OK {
		return failure("check: fixed text refused", "%+v", check.Error)
	}
	src := good + "math.sq"
	lines := strings.Split(src, "\n")
	var comp struct {
		Available   bool `json:"available"`
		Skipped     bool `json:"skipped"`
		Limited     bool `json:"limited"`
		Completions []struct {
			Name string `json:"name"`
		} `json:"completions"`
	}
	// A completion the server skipped (every completer busy) is timed
	// apart: its quick "busy" is not a completion.
	start := time.Now()
	if err := post("", "complete", map[string]any{"path": path, "source": src, "line": len(lines), "column": len(lines[len(lines)-1]) + 1}, &comp); err != nil {
		return err
	}
	took := time.Since(start)
	if comp.Skipped {
		s.lt.lat.add(OpCompleteSkipped, took)
		return nil
	}
	if !comp.Available {
		return nil
	}
	if comp.Limited {
		s.lt.lat.add(OpCompleteLimited, took)
	} else {
		s.lt.lat.add(OpComplete, took)
	}
	for _, c := range comp.Completions {
		if c.Name == "sqrt" {
			return nil
		}
	}
	return failure("complete: sqrt missing", "math.sq offered %d names, not sqrt", len(comp.Completions))
}
