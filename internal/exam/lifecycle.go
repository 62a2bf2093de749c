package exam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pythonide/pythonide/internal/assignment"
	"github.com/pythonide/pythonide/internal/fault"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/workspace"
)

// Input is what a teacher gives to start an exam: a new assignment's
// fields (as for an assignment; its due date is the exam's end), or the id
// of an existing one, the students, the window and the course notes.
type Input struct {
	assignment.Input
	// Assignment names an existing assignment to sit as the exam, instead
	// of the fields of a new one.
	Assignment string `json:"assignment"`
	// StartsAt is when it begins ("" for now), EndsAt when it ends, or
	// Minutes after the start; both read like a due date, in TimeZone.
	StartsAt    string `json:"starts_at"`
	EndsAt      string `json:"ends_at"`
	Minutes     int    `json:"minutes"`
	CourseNotes bool   `json:"course_notes"`
	// Users sit it (active students; the web layer turns "all" into them).
	Users []string `json:"-"`
}

// Stale claims: a start or end claimed this long ago and not done is taken
// over (the instance that claimed it died).
const (
	startStale = 2 * time.Minute
	endStale   = 10 * time.Minute
)

// refitAfter is how long after an exam's end Run still refits its
// students' programs.
const refitAfter = 10 * time.Minute

// Start records an exam and, when its window has begun, opens it at once:
// the folders are handed out (opened) and the report returned. A later
// window is opened by Run when it comes.
func (s *Service) Start(ctx context.Context, prof workspace.Actor, in Input) (store.Exam, *workspace.DistributeResult, error) {
	now := s.now()
	zone := "UTC"
	if in.TimeZone != nil && *in.TimeZone != "" {
		zone = *in.TimeZone
	}
	starts := now.Truncate(time.Second)
	if in.StartsAt != "" {
		t, err := assignment.ParseTime(in.StartsAt, zone)
		if err != nil {
			return store.Exam{}, nil, invalid("The start %q cannot be read; write it as 2026-12-09T09:00 (in the time zone), or leave it out to start now.", in.StartsAt)
		}
		starts = t
	}
	var ends time.Time
	switch {
	case in.EndsAt != "" && in.Minutes != 0:
		return store.Exam{}, nil, invalid("Give the end or the length in minutes, not both.")
	case in.EndsAt != "":
		t, err := assignment.ParseTime(in.EndsAt, zone)
		if err != nil {
			return store.Exam{}, nil, invalid("The end %q cannot be read; write it as 2026-12-09T11:00 (in the time zone).", in.EndsAt)
		}
		ends = t
	case in.Minutes > 0:
		ends = starts.Add(time.Duration(in.Minutes) * time.Minute)
	default:
		return store.Exam{}, nil, invalid("Say when the exam ends, or how many minutes it lasts.")
	}
	switch {
	case !ends.After(starts):
		return store.Exam{}, nil, invalid("The exam must end after it starts.")
	case !ends.After(now):
		return store.Exam{}, nil, invalid("That end has passed already.")
	case ends.Sub(starts) > MaxWindow:
		return store.Exam{}, nil, invalid("An exam may last up to %d hours.", int(MaxWindow.Hours()))
	}
	users, err := s.students(ctx, in.Users)
	if err != nil {
		return store.Exam{}, nil, err
	}
	if err := s.free(ctx, users, starts, ends); err != nil {
		return store.Exam{}, nil, err
	}

	// The assignment: a new one, or an existing one whose due date becomes
	// the exam's end.
	due := ends.Format(time.RFC3339Nano)
	noLate := 0
	var a store.Assignment
	created := false
	if in.Assignment != "" {
		if in.ID != nil && *in.ID != in.Assignment {
			return store.Exam{}, nil, invalid(`Give either an existing assignment ("assignment") or a new one's fields, not both.`)
		}
		if a, err = s.as.Get(ctx, in.Assignment); err != nil {
			return store.Exam{}, nil, err
		}
		if a, err = s.as.Update(ctx, prof, a.ID, assignment.Input{DueAt: &due, LateMinutes: &noLate}); err != nil {
			return store.Exam{}, nil, err
		}
	} else {
		ain := in.Input
		ain.DueAt, ain.LateMinutes = &due, &noLate
		if a, err = s.as.Create(ctx, prof, ain); err != nil {
			return store.Exam{}, nil, err
		}
		created = true
	}
	e := store.Exam{Assignment: a.ID, StartsAt: starts, EndsAt: ends, CourseNotes: in.CourseNotes, CreatedBy: prof.Username, CreatedAt: now}
	s.mu.Lock()
	s.starting[a.ID] = true // this instance's Run leaves it to us
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.starting, a.ID)
		s.mu.Unlock()
	}()
	if err := s.st.CreateExam(ctx, e, users); err != nil {
		if created {
			if derr := s.as.Delete(ctx, a.ID); derr != nil {
				s.log.Warn("an exam's assignment could not be removed after the exam was refused", "exam", a.ID, "err", derr)
			}
		}
		if errors.Is(err, store.ErrExists) {
			return store.Exam{}, nil, fault.New(ErrConflict, "%q is an exam already.", a.ID)
		}
		return store.Exam{}, nil, s.failed(err)
	}
	s.forget()
	s.log.Info("exam scheduled", "exam", a.ID, "by", prof.Username, "starts", starts, "ends", ends, "students", len(users))
	var report *workspace.DistributeResult
	if !starts.After(now) {
		if report, err = s.tryOpen(ctx, a.ID); err != nil {
			return store.Exam{}, nil, err
		}
	}
	e, err = s.st.GetExam(ctx, a.ID)
	if err != nil {
		return store.Exam{}, nil, s.failed(err)
	}
	return e, report, nil
}

// students checks that each user is an active student, and sorts them.
func (s *Service) students(ctx context.Context, users []string) ([]string, error) {
	users = sorted(users)
	if len(users) == 0 {
		return nil, invalid("Choose the students who sit the exam (all of them, or a list).")
	}
	for _, u := range users {
		x, err := s.st.GetUser(ctx, u)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, invalid("There is no user %q.", u)
		case err != nil:
			return nil, s.failed(err)
		case x.Role != store.RoleStudent:
			return nil, invalid("The user %s is not a student: only students sit exams.", u)
		case !x.Active:
			return nil, invalid("The account of %s is deactivated.", u)
		}
	}
	return users, nil
}

// free refuses a window in which one of users sits another exam.
func (s *Service) free(ctx context.Context, users []string, starts, ends time.Time) error {
	s.forget()
	snap, err := s.view(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		for _, id := range snap.byUser[u] {
			e := snap.exams[id]
			if e.StartsAt.Before(ends) && starts.Before(e.EndsAt) {
				until := e.EndsAt.UTC().Format("2006-01-02T15:04") + " UTC"
				if a, err := s.as.Get(ctx, id); err == nil && a.TimeZone != "" {
					until = assignment.Local(a, e.EndsAt) + " " + a.TimeZone // as its teacher wrote it
				}
				return fault.New(ErrConflict, "The student %s sits the exam %q at that time (until %s).", u, id, until)
			}
		}
	}
	return nil
}

// tryOpen opens exam id if this instance claims its opening; the report
// is nil when another instance has it.
func (s *Service) tryOpen(ctx context.Context, id string) (*workspace.DistributeResult, error) {
	e, err := s.st.GetExam(ctx, id)
	if err != nil {
		return nil, s.failed(err)
	}
	now := s.now()
	ok, err := s.st.ClaimExamStart(ctx, id, s.opts.Instance, now, now.Add(-startStale))
	if err != nil || !ok {
		return nil, err
	}
	return s.open(ctx, e)
}

// open hands out the exam's folders (its claim is this instance's): each
// student keeps only their newest session, an exam folder that is there
// already is moved aside (an exam starts from the starter files alone; not
// when a claim is taken over, which may find work done), the starter files
// are copied in, and the opening is marked done.
func (s *Service) open(ctx context.Context, e store.Exam) (*workspace.DistributeResult, error) {
	id := e.Assignment
	prof := workspace.Actor{Username: e.CreatedBy, Professor: true}
	users, err := s.st.ExamStudents(ctx, id)
	if err != nil {
		return nil, s.failed(err)
	}
	var names []string
	for _, x := range users {
		names = append(names, x.Username)
		if n, err := s.st.KeepNewestSession(ctx, x.Username); err != nil {
			s.log.Warn("an exam student's older sessions could not be ended", "exam", id, "user", x.Username, "err", err)
		} else if n > 0 {
			s.log.Info("exam: a student's older sessions ended (one session during an exam)", "exam", id, "user", x.Username, "sessions", n)
		}
		if e.StartedAt.IsZero() {
			s.moveAside(prof, x.Username, id)
		}
	}
	_, res, err := s.as.Publish(ctx, prof, id, names)
	if err != nil {
		return nil, err
	}
	if err := s.st.ExamOpened(ctx, id, s.now()); err != nil {
		return nil, s.failed(err)
	}
	s.forget()
	s.log.Info("exam opened", "exam", id, "students", len(names), "copied", res.Copied, "failed", res.Failed)
	return &res, nil
}

// moveAside renames what is at a student's exam folder before the exam to
// <id>-before-exam (or -2, -3 …), so the exam folder holds only what the
// exam hands out — nothing prepared, no link planted.
func (s *Service) moveAside(prof workspace.Actor, user, id string) {
	p := Folder(user, id)
	if _, err := s.ws.Stat(prof, p); err != nil {
		return // nothing there (or unreadable: Publish will say)
	}
	for n := 1; n <= 50; n++ {
		to := p + "-before-exam"
		if n > 1 {
			to = fmt.Sprintf("%s-%d", to, n)
		}
		err := s.ws.Move(prof, p, to)
		if err == nil {
			s.log.Info("exam: a folder already at the exam folder's place was moved aside", "exam", id, "user", user, "to", to)
			return
		}
		if !errors.Is(err, workspace.ErrExists) {
			s.log.Warn("exam: the folder at the exam folder's place could not be moved aside", "exam", id, "user", user, "err", err)
			return
		}
	}
}

// End ends exam id now (it need not have begun) and hands in every folder
// unless another instance is doing it.
func (s *Service) End(ctx context.Context, id string) (store.Exam, error) {
	if _, err := s.st.EndExamNow(ctx, id, s.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Exam{}, fault.New(ErrNotFound, "There is no exam %q.", id)
		}
		return store.Exam{}, s.failed(err)
	}
	s.forget()
	// The assignment is due at the new end too: nobody hands it in later.
	if a, err := s.as.Get(ctx, id); err == nil {
		due := s.now().Format(time.RFC3339Nano)
		prof := workspace.Actor{Username: a.CreatedBy, Professor: true}
		if _, err := s.as.Update(ctx, prof, id, assignment.Input{DueAt: &due}); err != nil {
			s.log.Warn("an ended exam's due date could not be moved", "exam", id, "err", err)
		}
	}
	s.tryFinish(ctx, id)
	e, err := s.st.GetExam(ctx, id)
	if err != nil {
		return store.Exam{}, s.failed(err)
	}
	return e, nil
}

// tryFinish ends exam id if this instance claims its end; when this
// instance is ending it already, it waits for that.
func (s *Service) tryFinish(ctx context.Context, id string) {
	s.mu.Lock()
	if busy := s.finishes[id]; busy != nil {
		s.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
		}
		return
	}
	done := make(chan struct{})
	s.finishes[id] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.finishes, id)
		s.mu.Unlock()
		close(done)
	}()
	now := s.now()
	ok, err := s.st.ClaimExamEnd(ctx, id, s.opts.Instance, now, now.Add(-endStale))
	if err != nil {
		s.log.Warn("the end of an exam cannot be claimed", "exam", id, "err", err)
		return
	}
	if ok {
		s.finish(ctx, id)
	}
}

// finish hands in the folder of every student of exam id who has one and
// was not handed in yet (its end's claim is this instance's): after Grace,
// so every instance has stopped the students' programs; then marks the end
// done.
func (s *Service) finish(ctx context.Context, id string) {
	e, err := s.st.GetExam(ctx, id)
	if err != nil {
		s.log.Warn("an exam cannot be ended", "exam", id, "err", err)
		return
	}
	if wait := e.EndsAt.Add(s.opts.Grace).Sub(s.now()); wait > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	s.forget()
	users, err := s.st.ExamStudents(ctx, id)
	if err != nil {
		s.log.Warn("an exam cannot be ended", "exam", id, "err", err)
		return
	}
	prof := workspace.Actor{Username: e.CreatedBy, Professor: true}
	handed := 0
	for _, x := range users {
		if x.Final != "" {
			continue
		}
		s.refit(x.Username, nil)
		if _, err := s.ws.Stat(prof, Folder(x.Username, id)); errors.Is(err, workspace.ErrNotFound) {
			continue // no folder, nothing to hand in
		}
		// Taken from the programs' user before the snapshot: from now on no
		// program changes it, whatever confines them (Seal).
		if err := s.ws.Seal(prof, Folder(x.Username, id)); err != nil {
			s.log.Warn("an exam folder could not be taken from the programs' user at the end", "exam", id, "user", x.Username, "err", err)
		}
		var sub store.Submission
		for try := 0; ; try++ {
			sub, err = s.as.HandIn(ctx, workspace.Actor{Username: x.Username}, id)
			if !errors.Is(err, assignment.ErrLimit) || try == 20 || ctx.Err() != nil {
				break // ErrLimit: their own submission is being saved; wait for it
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			s.log.Warn("an exam folder could not be handed in at the end", "exam", id, "user", x.Username, "err", err)
			continue
		}
		if err := s.st.SetExamFinal(ctx, id, x.Username, sub.ID); err != nil {
			s.log.Warn("an exam's final submission could not be recorded", "exam", id, "user", x.Username, "err", err)
		}
		s.event(ctx, id, x.Username, "submit", fmt.Sprintf("handed in at the end (submission %d, %d files)", sub.Seq, sub.Files))
		handed++
	}
	if ctx.Err() != nil {
		return // the claim goes stale and another instance finishes
	}
	if err := s.st.ExamFinished(ctx, id, s.now()); err != nil {
		s.log.Warn("an exam's end could not be recorded", "exam", id, "err", err)
	}
	s.forget()
	s.log.Info("exam ended: folders handed in", "exam", id, "students", len(users), "handed_in", handed)
}

// SealedFolders are the folders of every exam whose end has come (the end
// seals them: Workspace.Seal), as workspace paths, for AdoptHomes to leave
// as they are when a server starts.
func SealedFolders(ctx context.Context, st *store.Store, now time.Time) (map[string]bool, error) {
	exams, err := st.ListExams(ctx)
	if err != nil {
		return nil, err
	}
	over := map[string]bool{}
	for _, e := range exams {
		if Over(e, now) {
			over[e.Assignment] = true
		}
	}
	studs, err := st.ExamStudents(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, x := range studs {
		if over[x.Exam] {
			out[Folder(x.Username, x.Exam)] = true
		}
	}
	return out, nil
}

// refit stops username's programs here that see more than they may now
// (snap nil: read the exams again).
func (s *Service) refit(username string, snap *snapshot) {
	if s.opts.Runner == nil {
		return
	}
	if snap == nil {
		var err error
		if snap, err = s.view(context.Background()); err != nil {
			return
		}
	}
	lim := snap.limits(username, s.now())
	msg := stoppedOver
	if lim != nil && lim.Fence != "" {
		msg = stoppedBegun
	}
	if n := s.opts.Runner.Refit(runner.User{Name: username, Limits: lim}, msg); n > 0 {
		s.log.Info("exam: a student's programs were stopped (they saw more than the exam allows, or the exam ended)", "user", username, "programs", n)
	}
}

// Run opens each exam when its window comes and ends it when the window
// has passed (each once among the instances), refits this instance's
// programs of every exam student to what they may see now, and says which
// students are still connected here, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.Every)
	defer tick.Stop()
	var lastBeat time.Time
	for ctx.Err() == nil {
		s.forget()
		snap, err := s.view(ctx)
		if err == nil {
			s.step(ctx, snap)
			if now := s.opts.Now(); now.Sub(lastBeat) >= s.opts.Beat {
				s.beat(ctx, snap, now.UTC())
				lastBeat = now
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	s.wg.Wait()
}

func (s *Service) step(ctx context.Context, snap *snapshot) {
	now := s.now()
	for id, e := range snap.exams {
		s.mu.Lock()
		starting := s.starting[id]
		s.mu.Unlock()
		switch {
		case starting:
		case InWindow(e, now) && e.OpenedAt.IsZero():
			if _, err := s.tryOpen(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Warn("an exam could not be opened", "exam", id, "err", err)
			}
		case Over(e, now) && e.FinishedAt.IsZero():
			s.mu.Lock()
			busy := s.finishes[id] != nil
			s.mu.Unlock()
			if !busy {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.tryFinish(ctx, id)
				}()
			}
		}
	}
	if s.opts.Runner == nil {
		return
	}
	seen := map[string]bool{}
	for id, e := range snap.exams {
		if now.Before(e.StartsAt) || !now.Before(e.EndsAt.Add(refitAfter)) {
			continue // what starts after the end sees the read-only folder already
		}
		for _, u := range snap.byExam[id] {
			if !seen[u] {
				seen[u] = true
				s.refit(u, snap)
			}
		}
	}
}
