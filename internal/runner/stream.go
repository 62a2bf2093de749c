package runner

import "sync"

// stream is the ordered message log of one process: it numbers messages,
// keeps the most recent ones (bounded by bytes) for re-attaching clients,
// and forwards each to the attached sink, if any.
type stream struct {
	mu       sync.Mutex
	seq      uint64
	buf      []Message
	bufBytes int
	maxBytes int
	sink     Sink
	onSlow   func(Sink) // called (outside the lock) when a sink refuses a message
}

func newStream(maxBytes int, sink Sink, onSlow func(Sink)) *stream {
	return &stream{maxBytes: maxBytes, sink: sink, onSlow: onSlow}
}

// emit numbers m, keeps it, and sends it to the attached sink.
func (s *stream) emit(m Message) {
	s.mu.Lock()
	s.seq++
	m.Seq = s.seq
	s.buf = append(s.buf, m)
	s.bufBytes += m.size()
	for s.bufBytes > s.maxBytes && len(s.buf) > 1 {
		s.bufBytes -= s.buf[0].size()
		s.buf[0] = Message{}
		s.buf = s.buf[1:]
	}
	sink := s.sink
	var slow Sink
	if sink != nil && !sink.Send(m) {
		slow, s.sink = sink, nil
	}
	s.mu.Unlock()
	if slow != nil && s.onSlow != nil {
		s.onSlow(slow)
	}
}

// attach makes sink the receiver, first replaying every kept message after
// since. It reports whether messages after since were lost (dropped from
// the bounded buffer before the client came back).
func (s *stream) attach(sink Sink, since uint64) (lost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sink = sink
	if len(s.buf) > 0 && s.buf[0].Seq > since+1 {
		lost = true
	}
	for _, m := range s.buf {
		if m.Seq > since {
			if !sink.Send(m) {
				s.sink = nil
				break
			}
		}
	}
	return lost
}

// detach forgets sink if it is the attached one.
func (s *stream) detach(sink Sink) {
	s.mu.Lock()
	if s.sink == sink {
		s.sink = nil
	}
	s.mu.Unlock()
}

func (s *stream) attached(sink Sink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sink == sink
}
