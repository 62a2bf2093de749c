package loadtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/protocol"
)

// scriptedWS answers every stop with the messages answer gives for its id.
func scriptedWS(t *testing.T, answer func(id string) []protocol.Message) *client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var m struct{ Type, ID string }
			json.Unmarshal(b, &m)
			if m.Type != "stop" {
				continue
			}
			msgs := answer(m.ID)
			if msgs == nil {
				return // hang up
			}
			for _, out := range msgs {
				b, _ := json.Marshal(out)
				if c.Write(r.Context(), websocket.MessageText, b) != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return newClient(srv.URL, http.DefaultTransport)
}

func stopStudent(t *testing.T, c *client) (*student, *runState) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := dialWS(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	lt := &test{lat: newRecorder(1), errs: newTally()}
	s := &student{lt: lt, name: "lt001", ws: w, abandoned: map[string]bool{}}
	return s, &runState{id: "r-1", what: "flood", chk: NewChecker("n"), lastSeq: 7}
}

// TestStopCrossingTheProgramsEnd: a flood that reaches the output cap
// while the student's stop is on its way is gone when the stop arrives; the
// server answers not_found and the exit follows. That is the program ending
// as it should, not a failure (a 300-student run counted 116 of them as
// "flood: not_found").
func TestStopCrossingTheProgramsEnd(t *testing.T) {
	c := scriptedWS(t, func(id string) []protocol.Message {
		return []protocol.Message{
			{Type: protocol.MsgError, ID: id, Code: "not_found", Message: "That program is not running any more."},
			{Type: protocol.MsgExit, ID: id, Seq: 8, Reason: "output_limit"},
		}
	})
	s, rs := stopStudent(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.stop(ctx, rs, "stopped", "output_limit"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if rs.exit == nil || rs.exit.Reason != "output_limit" || s.lt.stopRaces.Load() != 1 {
		t.Fatalf("exit %+v, races %d", rs.exit, s.lt.stopRaces.Load())
	}
	// An exit for a reason the caller does not accept is still a failure.
	s2, rs2 := stopStudent(t, c)
	if err := s2.stop(ctx, rs2, "stopped"); err == nil || err.kind != "flood: exit output_limit" {
		t.Fatalf("stop accepted exit %+v: %v", rs2.exit, err)
	}
}

// TestStopNotFoundWithoutExitFails: a not_found that no exit follows (the
// server lost the program) stays a failure.
func TestStopNotFoundWithoutExitFails(t *testing.T) {
	answered := false
	c := scriptedWS(t, func(id string) []protocol.Message {
		if answered {
			return nil
		}
		answered = true
		return []protocol.Message{{Type: protocol.MsgError, ID: id, Code: "not_found", Message: "gone"}}
	})
	s, rs := stopStudent(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.stop(ctx, rs, "stopped"); err == nil || err.refusal {
		t.Fatalf("a stop with no exit passed: %v", err)
	}
}

// TestGapsFromTheFirstMessage: a run's messages are numbered from 1, so a
// first message numbered 3 is a gap. For a flood it is the API's designed
// skip (the student read slower than the bounded log kept), counted apart;
// for any other run it is an anomaly.
func TestGapsFromTheFirstMessage(t *testing.T) {
	c := scriptedWS(t, func(id string) []protocol.Message {
		return []protocol.Message{
			{Type: protocol.MsgStdout, ID: id, Seq: 3, Data: "0 tail of a line\nLT n 50\n"},
			{Type: protocol.MsgExit, ID: id, Seq: 4, Reason: "stopped"},
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, flood := range []bool{true, false} {
		s, rs := stopStudent(t, c)
		rs.lastSeq, rs.lossOK = 0, flood
		if err := s.stop(ctx, rs, "stopped"); err != nil {
			t.Fatalf("stop: %v", err)
		}
		res := rs.chk.Finish(100, true)
		switch {
		case flood && (s.lt.out.SeqGaps != 0 || s.lt.replayLost.Load() != 2 || !res.Clean()):
			t.Errorf("a flood's skipped start: gaps %d, skipped %d, %+v", s.lt.out.SeqGaps, s.lt.replayLost.Load(), res)
		case !flood && s.lt.out.SeqGaps != 1:
			t.Errorf("a run's missing first messages were not a gap: gaps %d", s.lt.out.SeqGaps)
		}
	}
}

// TestRefusedFloodIsARefusal: a flood the server refuses (limit_reached)
// is counted a refusal at once — not stopped, and not waited for until the
// operation's time runs out (100-student runs counted such floods as
// "flood: wait: timeout" failures).
func TestRefusedFloodIsARefusal(t *testing.T) {
	f := newFakeServer(t, false)
	f.refuse = true
	c := newClient(f.srv.URL, http.DefaultTransport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.login(ctx, "lt001", "pw"); err != nil {
		t.Fatal(err)
	}
	w, err := dialWS(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	lt := &test{lat: newRecorder(1), errs: newTally()}
	s := &student{lt: lt, name: "lt001", nonce: "n", home: "Local/lt001", http: c, ws: w, runTags: map[string]string{}, abandoned: map[string]bool{}}
	start := time.Now()
	err = s.heavyRun(ctx, ActFlood)
	if err == nil || !err.refusal || err.kind != "flood: limit_reached" {
		t.Fatalf("a refused flood: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refusal took %s to count", d)
	}
	if lt.stopRaces.Load() != 0 {
		t.Error("a refused flood was stopped")
	}
}
