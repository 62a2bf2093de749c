package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/protocol"
)

func TestStreamSubscribersPullAtTheirOwnPace(t *testing.T) {
	st := newStream(1 << 20)
	fast, slow := make(waker, 1), make(waker, 1)
	a := st.subscribe(fast, "p", 0)
	for i := 0; i < 5; i++ {
		st.emit(protocol.Message{Type: protocol.MsgStdout, Data: strings.Repeat("x", i+1)})
	}
	b := st.subscribe(slow, "p", 2) // a re-attaching browser that saw seq 1 and 2
	msgs, lost, done := a.Next(3)
	if len(msgs) != 3 || msgs[0].Seq != 1 || msgs[2].Seq != 3 || lost || done {
		t.Fatalf("first batch: %+v lost=%v done=%v", msgs, lost, done)
	}
	msgs, _, _ = b.Next(100)
	if len(msgs) != 3 || msgs[0].Seq != 3 || msgs[2].Seq != 5 {
		t.Fatalf("since 2: %+v", msgs)
	}
	st.emit(protocol.Message{Type: protocol.MsgExit})
	st.finish()
	msgs, _, done = a.Next(100)
	if len(msgs) != 3 || msgs[2].Type != protocol.MsgExit || !done {
		t.Fatalf("rest: %+v done=%v", msgs, done)
	}
	if _, _, done := b.Next(0); done {
		t.Fatal("b has not taken the exit yet")
	}
	if msgs, _, done := b.Next(10); len(msgs) != 1 || !done {
		t.Fatalf("b's exit: %+v %v", msgs, done)
	}
	select {
	case <-fast:
	default:
		t.Fatal("a subscriber was not woken")
	}
}

func TestStreamIsBoundedAndReportsWhatWasLost(t *testing.T) {
	st := newStream(4096)
	sub := st.subscribe(make(waker, 1), "p", 0)
	for i := 0; i < 1000; i++ {
		st.emit(protocol.Message{Type: protocol.MsgStdout, Data: strings.Repeat("y", 100)})
	}
	if st.bufBytes > 4096 {
		t.Fatalf("log holds %d bytes over its 4096 bound", st.bufBytes)
	}
	msgs, lost, _ := sub.Next(1000)
	if !lost || len(msgs) == 0 || msgs[len(msgs)-1].Seq != 1000 {
		t.Fatalf("lost=%v, %d messages, last %d", lost, len(msgs), msgs[len(msgs)-1].Seq)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq != msgs[i-1].Seq+1 {
			t.Fatalf("gap inside what was kept at %d", i)
		}
	}
	sub.Close()
	if len(st.subs) != 0 {
		t.Fatal("closed subscription still held")
	}
}

// BenchmarkStreamEmit is the cost of one output message reaching the log
// and waking its subscribers (the hot path of a printing program).
func BenchmarkStreamEmit(b *testing.B) {
	for _, subs := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			st := newStream(256 << 10)
			for i := 0; i < subs; i++ {
				st.subscribe(make(waker, 1), "p", 0)
			}
			m := protocol.Message{Type: protocol.MsgStdout, ID: "p", Data: strings.Repeat("x", 80)}
			b.ReportAllocs()
			for b.Loop() {
				st.emit(m)
			}
		})
	}
}

// BenchmarkSubscriptionNext is a connection pulling a batch of 64 messages.
func BenchmarkSubscriptionNext(b *testing.B) {
	st := newStream(256 << 10)
	sub := st.subscribe(make(waker, 1), "p", 0)
	m := protocol.Message{Type: protocol.MsgStdout, ID: "p", Data: strings.Repeat("x", 80)}
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 64; i++ {
			st.emit(m)
		}
		sub.Next(64)
	}
}
