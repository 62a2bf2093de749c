package runner

import (
	"sync"

	"github.com/pythonide/pythonide/internal/protocol"
)

// stream is the ordered message log of one process. It numbers messages,
// keeps the most recent ones (bounded by bytes), and wakes the connections
// subscribed to it; each connection pulls at its own pace with its own
// cursor. A slow or stalled browser therefore never holds up the program or
// anyone else, and never makes the server buffer more than this log: it just
// skips what fell out of the log (a gap in seq) when it catches up.
type stream struct {
	mu       sync.Mutex
	seq      uint64
	buf      []protocol.Message
	bufBytes int
	maxBytes int
	ended    bool // the exit message is in the log; nothing follows it
	subs     map[*Subscription]struct{}
}

func newStream(maxBytes int) *stream {
	return &stream{maxBytes: maxBytes, subs: map[*Subscription]struct{}{}}
}

// emit numbers m, keeps it, and wakes the subscribers.
func (s *stream) emit(m protocol.Message) {
	s.mu.Lock()
	s.seq++
	m.Seq = s.seq
	s.buf = append(s.buf, m)
	s.bufBytes += msgSize(&m)
	for s.bufBytes > s.maxBytes && len(s.buf) > 1 {
		s.bufBytes -= msgSize(&s.buf[0])
		s.buf[0] = protocol.Message{}
		s.buf = s.buf[1:]
	}
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.sink.Wake()
	}
}

// finish marks the log complete: the last message (an exit, or the error of
// a run that could not start) is in it.
func (s *stream) finish() {
	s.mu.Lock()
	s.ended = true
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.sink.Wake()
	}
}

// Sink is a connection that pulls messages: Wake tells it (without ever
// blocking) that a subscription it holds has something new.
type Sink interface {
	Wake()
}

// Subscription is one connection's cursor into one process's messages.
type Subscription struct {
	s      *stream
	sink   Sink
	ID     string // the browser's id of the process
	cursor uint64 // last seq handed out
}

func (s *stream) subscribe(sink Sink, id string, since uint64) *Subscription {
	sub := &Subscription{s: s, sink: sink, ID: id, cursor: since}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	sink.Wake()
	return sub
}

// Next returns up to max messages after the cursor and advances it. lost
// reports that messages were skipped because they had already left the
// bounded log. done reports that the process has ended and everything,
// exit included, has been handed out: the subscription can be dropped.
func (sub *Subscription) Next(max int) (msgs []protocol.Message, lost, done bool) {
	s := sub.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 {
		first := s.buf[0].Seq
		if sub.cursor+1 < first {
			lost, sub.cursor = true, first-1
		}
		start := int(sub.cursor + 1 - first)
		if start < len(s.buf) {
			end := min(len(s.buf), start+max)
			msgs = append(msgs, s.buf[start:end]...)
			sub.cursor = s.buf[end-1].Seq
		}
	}
	done = s.ended && sub.cursor == s.seq
	return msgs, lost, done
}

// Close ends the subscription; the process goes on.
func (sub *Subscription) Close() {
	sub.s.mu.Lock()
	delete(sub.s.subs, sub)
	sub.s.mu.Unlock()
}
