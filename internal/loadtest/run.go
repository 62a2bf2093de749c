package loadtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"
)

// replRounds is how many lines a student types into the REPL after a run.
const replRounds = 2

// floodPatience is how long a student watches a print flood before
// stopping it.
const floodPatience = 10 * time.Second

// busyHold is how long a busy loop spins before the student stops it.
const busyHold = 1500 * time.Millisecond

// runState follows one run's messages on the student's connection.
type runState struct {
	id       string
	what     string // the action, for errors
	chk      *Checker
	sent     time.Time // when run was sent
	gotOut   bool
	lastSeq  uint64 // the server's number of the last message consumed
	lastType string // and its type
	exit     *protocol.Message
	stderr   string
	stderrOK bool // the program may write to stderr (a MemoryError traceback)
	lossOK   bool // the run is cut short anyway (a flood): output lost from the replay buffer is counted apart
	slow     int  // times the server dropped the connection as too slow
	// received counts the run's messages and lastAt is when the last one
	// came: a wait that times out says whether the server went quiet or
	// this client fell behind.
	received int
	lastAt   time.Time
	first    []string // the first messages' types (and codes), for the same
}

// story is what the run received, for a wait that failed.
func (rs *runState) story() string {
	if rs.received == 0 {
		return fmt.Sprintf(" (nothing received since the run was sent %s ago)", time.Since(rs.sent).Round(time.Millisecond))
	}
	return fmt.Sprintf(" (run sent %s ago; %d messages received, the last %s ago: seq %d, %s; first %v)",
		time.Since(rs.sent).Round(time.Millisecond), rs.received, time.Since(rs.lastAt).Round(time.Millisecond), rs.lastSeq, rs.lastType, rs.first)
}

// maxSlowReattach bounds how often one run re-attaches after the server
// dropped its connection as too slow.
const maxSlowReattach = 5

// start saves source as file and runs it.
func (s *student) start(ctx context.Context, what, file string, source func(nonce string) string) (*runState, *opError) {
	nonce := s.runNonce()
	if err := s.saveProgram(ctx, file, source(nonce)); err != nil {
		return nil, err
	}
	rs := &runState{id: "r-" + nonce, what: what, chk: NewChecker(nonce)}
	msg := protocol.Request{Type: protocol.ReqRun, ID: rs.id, Path: s.home + "/" + file}
	rs.sent = time.Now()
	err := s.ws.send(ctx, msg)
	if err != nil && s.ws.settle() && s.ws.tooSlow() {
		// Dropped as too slow after the last run: a new connection.
		s.ws.close()
		if s.ws, err = dialWS(ctx, s.http); err != nil {
			return nil, err
		}
		rs.sent = time.Now()
		err = s.ws.send(ctx, msg)
	}
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// pump consumes the run's messages until done accepts one. An exit that
// done does not accept ends the run too early; an error message is the
// server refusing.
func (s *student) pump(ctx context.Context, rs *runState, done func(m protocol.Message) bool) *opError {
	for {
		m, err := s.ws.next(ctx)
		if err != nil && s.ws.tooSlow() && rs.slow < maxSlowReattach && ctx.Err() == nil {
			// As the browser does: reconnect and resume from the last
			// message seen.
			rs.slow++
			s.lt.slowDrops.Add(1)
			if err := s.reattach(ctx, rs); err != nil {
				return err
			}
			continue
		}
		if err != nil && s.ws.tooSlow() {
			return tooSlow(rs)
		}
		if err != nil {
			return &opError{kind: rs.what + ": " + err.kind, detail: err.detail + rs.story()}
		}
		if m.ID != rs.id && !(m.Type == protocol.MsgError && m.ID == "") {
			if !s.abandoned[m.ID] {
				s.lt.out.other(&s.lt.out.Stray, fmt.Sprintf("%s got a %s message for %q while running %q", s.name, m.Type, m.ID, rs.id))
			}
			continue
		}
		rs.received++
		rs.lastAt = time.Now()
		if len(rs.first) < 4 {
			rs.first = append(rs.first, fmt.Sprintf("%s%v@%s", m.Type, m.Code, time.Since(rs.sent).Round(time.Millisecond)))
		}
		if m.Seq != 0 {
			// A run's messages are numbered from 1, so a gap shows even
			// before the first message.
			switch {
			case m.Seq == rs.lastSeq+1:
			case m.Seq > rs.lastSeq && rs.lossOK:
				// These left the process's bounded log before this
				// student read them (away, or reading slower than a
				// flood prints): by the API's design, for output this fast.
				s.lt.replayLost.Add(int64(m.Seq - rs.lastSeq - 1))
				rs.chk.Resync()
			default:
				s.lt.out.other(&s.lt.out.SeqGaps, fmt.Sprintf("%s: message %d of %s came after %d", s.name, m.Seq, rs.id, rs.lastSeq))
			}
			rs.lastSeq = m.Seq
		}
		rs.lastType = m.Type
		switch m.Type {
		case protocol.MsgStdout:
			if !rs.gotOut {
				rs.gotOut = true
				s.lt.lat.add(OpFirstOutput, time.Since(rs.sent))
			}
			rs.chk.Feed(m.Data)
		case protocol.MsgStderr:
			if len(rs.stderr) < 4096 {
				rs.stderr += m.Data
			}
		case protocol.MsgError:
			code, _ := m.Code.(string)
			return apiError(rs.what, 0, code, m.Message)
		case protocol.MsgExit:
			rs.exit = &m
		}
		if done(m) {
			return nil
		}
		if m.Type == protocol.MsgExit {
			return failure(rs.what+": ended early", "exit %s (%v) %q; stderr %.200q", m.Reason, m.Code, m.Message, rs.stderr)
		}
	}
}

// send sends a message about a run; a connection the server dropped as too
// slow is re-attached first, as the browser does.
func (s *student) send(ctx context.Context, rs *runState, msg protocol.Request) *opError {
	if s.ws.tooSlow() && rs.slow < maxSlowReattach {
		rs.slow++
		s.lt.slowDrops.Add(1)
		if err := s.reattach(ctx, rs); err != nil {
			return err
		}
	}
	err := s.ws.send(ctx, msg)
	if err != nil && s.ws.settle() && s.ws.tooSlow() && rs.slow < maxSlowReattach {
		// The close frame was on its way while this was written.
		rs.slow++
		s.lt.slowDrops.Add(1)
		if err := s.reattach(ctx, rs); err != nil {
			return err
		}
		return s.ws.send(ctx, msg)
	}
	if err != nil && s.ws.tooSlow() {
		return tooSlow(rs)
	}
	return err
}

// tooSlow is a run given up on after the server dropped its connection as
// too slow maxSlowReattach times: re-attaching replays more messages than
// the server's send queue takes, so it cannot recover.
func tooSlow(rs *runState) *opError {
	return failure(rs.what+": dropped as too slow", "the server closed the connection as too slow %d times; each re-attach was dropped again", rs.slow+1)
}

func is(typ string) func(protocol.Message) bool {
	return func(m protocol.Message) bool { return m.Type == typ }
}

// finish judges the output and, when the run failed midway, stops it and
// forgets its id, so its last messages are not mistaken for strays.
func (s *student) finish(rs *runState, want int, truncated bool) {
	if rs == nil {
		return
	}
	if rs.exit == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.ws.send(ctx, protocol.Request{Type: protocol.ReqStop, ID: rs.id})
		cancel()
		s.abandoned[rs.id] = true
		return // a run cut short proves nothing about its output
	}
	r := rs.chk.Finish(want, truncated)
	s.lt.out.run(r)
	if rs.stderr != "" && !rs.stderrOK {
		s.lt.out.other(&s.lt.out.Stderr, fmt.Sprintf("%s's run %s wrote to stderr: %.200q", s.name, rs.id, rs.stderr))
	}
	s.lt.exits.add(rs.what + ": " + rs.exit.Reason)
}

// interactiveRun is a student's usual run: output, an input() answered,
// two REPL lines, stop. With reconnect the connection drops after the
// first output and the student re-attaches with since.
func (s *student) interactiveRun(ctx context.Context, reconnect bool) *opError {
	n, what := interactiveLines, "run"
	if reconnect {
		n, what = reconnectLines, "reconnect"
	}
	rs, err := s.start(ctx, what, runFile, func(nonce string) string { return interactive(nonce, n, reconnect) })
	if err != nil {
		return err
	}
	defer s.finish(rs, n+1+replRounds, false)

	if reconnect {
		if err := s.pump(ctx, rs, is(protocol.MsgStdout)); err != nil {
			return err
		}
		if err := s.reattach(ctx, rs); err != nil {
			return err
		}
	}
	// After a reattach the input request may be the message already seen.
	if rs.lastType != protocol.MsgInputRequest {
		if err := s.pump(ctx, rs, is(protocol.MsgInputRequest)); err != nil {
			return err
		}
	}
	token := fmt.Sprintf("t%d", s.rng.IntN(1e9))
	if err := s.roundTrip(ctx, rs, OpInput, token+"\n", n+1); err != nil {
		return err
	}
	if got := rs.chk.Payload(n + 1); got != "got:"+token {
		return failure(what+": input echo wrong", "sent %q, the program printed %q", token, got)
	}
	for j := range replRounds {
		if err := s.roundTrip(ctx, rs, OpREPL, replLine(n+2+j), n+2+j); err != nil {
			return err
		}
	}
	return s.stop(ctx, rs, "stopped")
}

// roundTrip sends a line of input and times until line seq is printed,
// then waits for the REPL to be ready again.
func (s *student) roundTrip(ctx context.Context, rs *runState, op Op, line string, seq int) *opError {
	start := time.Now()
	if err := s.send(ctx, rs, protocol.Request{Type: protocol.ReqStdin, ID: rs.id, Data: line}); err != nil {
		return err
	}
	if err := s.pump(ctx, rs, func(protocol.Message) bool { return rs.chk.Has(seq) }); err != nil {
		return err
	}
	s.lt.lat.add(op, time.Since(start))
	return s.pump(ctx, rs, is(protocol.MsgREPLReady))
}

// stop stops the run and times until its exit, which must give one of
// reasons.
func (s *student) stop(ctx context.Context, rs *runState, reasons ...string) *opError {
	start := time.Now()
	if err := s.send(ctx, rs, protocol.Request{Type: protocol.ReqStop, ID: rs.id}); err != nil {
		return err
	}
	err := s.pump(ctx, rs, is(protocol.MsgExit))
	if err != nil && err.code == "not_found" {
		// The program ended on its own while the stop was on its way (a
		// flood reaching the output cap while its output was still on the
		// wire): the server no longer knows it, and its exit, already
		// queued behind that output, still comes.
		s.lt.stopRaces.Add(1)
		err = s.pump(ctx, rs, is(protocol.MsgExit))
	}
	if err != nil {
		return err
	}
	s.lt.lat.add(OpStop, time.Since(start))
	if !slices.Contains(reasons, rs.exit.Reason) {
		return failure(rs.what+": exit "+rs.exit.Reason, "stopped, but the exit says %q: %s", rs.exit.Reason, rs.exit.Message)
	}
	return nil
}

// reattach drops the connection, as a laptop's Wi-Fi does, and resumes
// the run on a new one from the last message consumed.
func (s *student) reattach(ctx context.Context, rs *runState) *opError {
	s.ws.close()
	start := time.Now()
	w, err := dialWS(ctx, s.http)
	if err != nil {
		s.ws = nil
		return err
	}
	s.ws = w
	if err := s.ws.send(ctx, protocol.Request{Type: protocol.ReqAttach, ID: rs.id, Since: rs.lastSeq}); err != nil {
		return err
	}
	if err := s.pump(ctx, rs, func(m protocol.Message) bool { return m.Type != protocol.MsgExit }); err != nil {
		return err
	}
	s.lt.lat.add(OpReconnect, time.Since(start))
	return nil
}

// heavyRun runs one of the heavy programs and checks the server ends it the
// way it should.
func (s *student) heavyRun(ctx context.Context, a Action) *opError {
	var src func(string) string
	switch a {
	case ActBusy:
		src = busy
	case ActMemory:
		src = memoryHog
	default:
		src = flood
	}
	rs, err := s.start(ctx, string(a), heavyFile, src)
	if err != nil {
		return err
	}
	switch a {
	case ActBusy:
		defer func() { s.finish(rs, 1, false) }()
		if err := s.pump(ctx, rs, func(protocol.Message) bool { return rs.chk.Has(1) }); err != nil {
			return err
		}
		t := time.NewTimer(busyHold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return transportError(string(a), ctx.Err())
		}
		return s.stop(ctx, rs, "stopped")
	case ActMemory:
		rs.stderrOK = true // the MemoryError traceback, when the rlimit comes first
		truncated := true
		defer func() { s.finish(rs, 2, truncated) }()
		if err := s.pump(ctx, rs, is(protocol.MsgExit)); err != nil {
			return err
		}
		// Surviving means no limit stopped 400 MiB: reported as the exit
		// "memory: exited", for the reader to judge against the server's
		// settings.
		truncated = rs.exit.Reason != "exited"
		return nil
	default:
		truncated := true
		rs.lossOK = true
		defer func() { s.finish(rs, floodLines, truncated) }()
		// A student watching a flood presses Stop after a while: on a
		// starved machine the program prints too slowly to reach the
		// output cap soon.
		wait, cancel := context.WithTimeout(ctx, floodPatience)
		err := s.pump(wait, rs, is(protocol.MsgExit))
		patienceOut := errors.Is(wait.Err(), context.DeadlineExceeded) // read before cancel, which sets it too
		cancel()
		if err != nil && patienceOut && ctx.Err() == nil && rs.exit == nil {
			// The stop may cross the program's own end at the output cap.
			if err := s.stop(ctx, rs, "stopped", "output_limit", "exited"); err != nil {
				return err
			}
			truncated = rs.exit.Reason != "exited"
			return nil
		}
		if err != nil {
			return err
		}
		switch rs.exit.Reason {
		case "output_limit":
		case "exited":
			truncated = false
		default:
			return failure("flood: exit "+rs.exit.Reason, "%s", rs.exit.Message)
		}
		return nil
	}
}
