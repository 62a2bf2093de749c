package assignment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
)

// Result is one test's result as recorded with a submission.
type Result struct {
	Test      string  `json:"test"`
	Status    string  `json:"status"`
	Message   string  `json:"message,omitempty"`
	Output    string  `json:"output,omitempty"`
	Points    float64 `json:"points"`
	MaxPoints float64 `json:"max_points"`
}

// Grading states of a submission.
const (
	Queued  = "queued"
	Running = "running"
	Done    = "done"
	Failed  = "error"
)

// claimStale is how long a grader may hold a submission before another
// takes it over (it died, or its instance did).
const claimStale = 15 * time.Minute

// retryEvery is how long the grader waits while students need the room,
// and how often it looks for work another instance queued.
const retryEvery = time.Second

// Wake tells the grader there may be work.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run grades queued submissions one at a time until ctx ends: the queue is
// in the store, so every instance's grader takes from it and a submission
// queued anywhere (or left by a grader that died) is graded. Each test file
// runs as a test run of the runner, which waits while students need the
// room (runner.ErrNoRoom): grading a class never starves the students
// working.
func (s *Service) Run(ctx context.Context) {
	if s.opts.Grader == nil {
		return
	}
	if n, err := s.st.ReleaseGrading(ctx, s.opts.GraderID); err != nil {
		s.log.Warn("the grading queue cannot be read", "err", err)
	} else if n > 0 {
		s.log.Info("grading again what this grader left running", "submissions", n)
	}
	poll := time.NewTicker(5 * retryEvery)
	defer poll.Stop()
	for ctx.Err() == nil {
		now := s.opts.Now()
		x, ok, err := s.st.ClaimGrading(ctx, s.opts.GraderID, now, now.Add(-claimStale))
		if err != nil && ctx.Err() == nil {
			s.log.Warn("the grading queue cannot be read", "err", err)
		}
		if ok {
			s.grade(ctx, x)
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// grade runs every test file of x's assignment against x and records the
// result, unless x was queued again meanwhile.
func (s *Service) grade(ctx context.Context, x store.Submission) {
	state, score, max, results := s.runAll(ctx, x)
	if ctx.Err() != nil {
		return // the claim goes stale and another grader takes it
	}
	b, _ := json.Marshal(results)
	if _, err := s.st.FinishGrading(ctx, x.ID, s.opts.GraderID, state, score, max, b, s.opts.Now()); err != nil {
		s.log.Warn("a grade could not be recorded", "submission", x.ID, "err", err)
	}
}

func (s *Service) runAll(ctx context.Context, x store.Submission) (state string, score, max float64, results []Result) {
	a, err := s.st.GetAssignment(ctx, x.Assignment)
	if err == nil {
		var tests []store.TestFile
		if tests, err = s.st.Tests(ctx, a.ID); err == nil {
			results = []Result{}
			for i, t := range tests {
				rep, err := s.runFile(ctx, x, i, a, t)
				if err != nil {
					if ctx.Err() != nil {
						return Failed, 0, 0, nil
					}
					s.log.Warn("a test file could not run", "submission", x.ID, "test", t.Name, "err", err)
					results = append(results, Result{Test: t.Name, Status: runner.TestError, MaxPoints: 0,
						Message: "The tests could not run on the server; the grade will be done again when the teacher regrades."})
					state = Failed
					continue
				}
				for _, r := range rep.Results {
					pts := points(a, r.Test)
					res := Result{Test: r.Test, Status: r.Status, Message: r.Message, Output: r.Output, MaxPoints: pts}
					if r.Status == runner.TestPassed {
						res.Points = pts
					}
					score += res.Points
					max += pts
					results = append(results, res)
				}
			}
		}
	}
	if err != nil {
		return Failed, 0, 0, []Result{{Test: "", Status: runner.TestError, Message: "The assignment's tests cannot be read right now."}}
	}
	if state == "" {
		state = Done
	}
	return state, score, max, results
}

// runFile runs one test file, waiting while the students need the room.
func (s *Service) runFile(ctx context.Context, x store.Submission, i int, a store.Assignment, t store.TestFile) (runner.TestReport, error) {
	for {
		rep, err := s.opts.Grader.RunTests(ctx, runner.TestRun{
			ID: fmt.Sprintf("grade-%s-%d", x.ID, i), Files: s.snapshotDir(x), Name: t.Name, Source: []byte(t.Content),
			PerTest: time.Duration(a.TestSeconds) * time.Second,
		})
		if !errors.Is(err, runner.ErrNoRoom) {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(retryEvery):
		}
	}
}

// points is what a test is worth (1 unless the teacher said).
func points(a store.Assignment, test string) float64 {
	if p, ok := a.Points[test]; ok {
		return p
	}
	return 1
}
