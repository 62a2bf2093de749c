package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/workspace"
)

// WebSocket tuning. A connection pulls each process's messages from that
// process's bounded log at its own pace (runner.Subscription), so a slow
// browser never holds up a program or the server, and is never sent more
// than the log holds: it skips what fell out (a gap in seq). Only replies
// to its own requests are queued per connection, and few.
const (
	wsReplyQueue   = 64
	wsBatch        = 64 // messages taken from one process before serving the next
	wsWriteTimeout = 10 * time.Second
	wsPingEvery    = 25 * time.Second
	wsRecheckEvery = 60 * time.Second // how often the session behind a socket is re-validated
	// wsCloseGrace bounds the close handshake. The library reads out the
	// rest of the frame it was in before it waits for the peer's close,
	// without a deadline: a client that declared a frame of 2^63 bytes and
	// went quiet would hold the connection (and its goroutines) forever.
	wsCloseGrace = 10 * time.Second
)

type wsConn struct {
	s   *Server
	c   *websocket.Conn
	raw net.Conn // under c, closed at the latest wsCloseGrace after c's close begins
	p   auth.Principal
	// replies and starts hold pointers: a channel's buffer is allocated
	// whole when the connection opens, and 64 Messages by value were
	// 10 KiB per idle browser (3 MiB of a 300-student class).
	replies chan *protocol.Message
	starts  chan *protocol.Request // run and repl requests, served in order
	wake    chan struct{}
	closed  chan struct{}
	once    sync.Once

	mu       sync.Mutex
	subs     map[string]*runner.Subscription // by the browser's process id
	starting bool                            // a startLoop is serving starts
}

// Wake is called by the runner when a subscribed process has news.
func (c *wsConn) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// subscribe replaces any earlier subscription for the same id.
func (c *wsConn) subscribe(sub *runner.Subscription) {
	select {
	case <-c.closed:
		sub.Close()
		return
	default:
	}
	c.mu.Lock()
	if old := c.subs[sub.ID]; old != nil {
		old.Close()
	}
	c.subs[sub.ID] = sub
	c.mu.Unlock()
	c.Wake()
}

func (c *wsConn) unsubscribeAll() {
	c.mu.Lock()
	for id, sub := range c.subs {
		sub.Close()
		delete(c.subs, id)
	}
	c.mu.Unlock()
}

// reply queues an answer to the browser's own request; a browser that lets
// 64 of them pile up is not reading, and is disconnected.
func (c *wsConn) reply(m protocol.Message) {
	select {
	case c.replies <- &m:
	case <-c.closed:
	default:
		c.close(websocket.StatusPolicyViolation, "not reading: reconnect to resume")
	}
}

func (c *wsConn) close(code websocket.StatusCode, why string) {
	c.once.Do(func() {
		close(c.closed)
		go c.c.Close(code, why)
		if c.raw != nil {
			time.AfterFunc(wsCloseGrace, func() { c.raw.Close() })
		}
	})
}

func (c *wsConn) sendError(id string, err error) {
	c.reply(c.errorMessage(id, err))
}

func (c *wsConn) errorMessage(id string, err error) protocol.Message {
	e := apiError(err)
	if e.Code == apierror.Internal {
		c.s.log.Error("websocket request failed", "user", c.p.Username, "err", err)
	}
	return protocol.Message{Type: protocol.MsgError, ID: id, Code: string(e.Code), Message: e.Message}
}

// sendStartError answers a run or repl that did not start, saying whether
// trying again may help where that is known, and with the reference of a
// failure on the server's side (docs/api.md, "Running code").
func (c *wsConn) sendStartError(id string, err error) {
	m := c.errorMessage(id, err)
	m.Ref, m.Retry = startRetry(err)
	c.reply(m)
}

// startRetry is the reference and the retry flag of a start's refusal: a
// failure on the server's side says both itself; the limits (the class's
// pass, the student's own once they stop a program), the degradation gate
// and a restart pass; a file that does not exist or cannot be run stays
// so. Anything else (a draining server, which the page leaves by
// reloading) is not said.
func startRetry(err error) (ref string, retry *bool) {
	yes, no := true, false
	var f *runner.StartFailure
	switch {
	case errors.As(err, &f):
		return f.Ref, &f.Retry
	case errors.Is(err, registry.ErrLimit), errors.Is(err, degrade.ErrShedMemory), errors.Is(err, degrade.ErrShedCPU),
		errors.Is(err, runner.ErrClosing):
		return "", &yes
	case errors.Is(err, workspace.ErrNotFound), errors.Is(err, workspace.ErrInvalid), errors.Is(err, workspace.ErrDenied):
		return "", &no
	}
	return "", nil
}

// sameOrigin refuses a WebSocket upgrade from another site (cross-site
// WebSocket hijacking): the browser sends the cookie with it, so the
// Origin must be ours — the same scheme, host and port as the site the
// browser reached — or one of the configured public origins. An http://
// page of the same host is another origin than an https:// site.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	o, ok := canonicalOrigin(origin)
	if !ok {
		return false
	}
	scheme := "http"
	if s.viaTLS(r) {
		scheme = "https"
	}
	if own, ok := canonicalOrigin(scheme + "://" + r.Host); ok && own == o {
		return true
	}
	for _, p := range s.cfg.PublicOrigins {
		if c, ok := canonicalOrigin(p); ok && c == o {
			return true
		}
	}
	return false
}

// canonicalOrigin is scheme://host[:port] in lower case without a default
// port; ok is false for anything that is not a plain http(s) origin.
func canonicalOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return scheme + "://" + host, true
	}
	return scheme + "://" + net.JoinHostPort(host, port), true
}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.runner == nil {
		s.writeError(w, r, apierror.New(apierror.Unavailable, "Running programs is not available on this server."))
		return
	}
	if !s.sameOrigin(r) {
		s.writeError(w, r, apierror.New(apierror.Forbidden, "This connection came from another website and was refused."))
		return
	}
	if s.cluster != nil && (!s.peer(r) || s.cluster.Draining()) {
		// A student's programs all live on their home instance: a
		// connection that reached another one goes there whole. A
		// draining instance asks even when a peer sent the connection
		// (the peer's view may lag by the rows of programs that just
		// ended here): it keeps only students whose programs run here.
		addr, local, err := s.cluster.Home(r.Context(), p.Username)
		if err != nil {
			s.log.Warn("finding a student's home instance failed; serving here", "user", p.Username, "err", err)
		}
		if !local {
			s.cluster.Forward(w, r, addr, s.clientAddr(r), s.viaTLS(r))
			return
		}
	}
	spy := &hijackSpy{ResponseWriter: w}
	conn, err := websocket.Accept(spy, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // Origin checked above
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(s.cfg.WSMaxMessageBytes)
	c := &wsConn{s: s, c: conn, raw: spy.conn, p: p, replies: make(chan *protocol.Message, wsReplyQueue), starts: make(chan *protocol.Request, 16), wake: make(chan struct{}, 1),
		closed: make(chan struct{}), subs: map[string]*runner.Subscription{}}
	s.runner.Connected(c.user())
	s.wsOpen.Add(1)
	if s.exams != nil { // who is connected, for an exam's live view
		s.exams.Connected(r.Context(), p.Username)
		defer s.exams.Disconnected(context.WithoutCancel(r.Context()), p.Username)
	}
	defer func() {
		c.unsubscribeAll()
		s.runner.Disconnected(p.Username)
		s.wsOpen.Add(-1)
		c.close(websocket.StatusNormalClosure, "")
	}()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Two goroutines per browser, this one reading and writeLoop; starts
	// and keep-alives take a goroutine only while they have work.
	go c.writeLoop(ctx)
	defer c.keepAlive(ctx, r)()
	c.readLoop(ctx)
}

// user is who this connection runs programs as, with their limits now (an
// exam that began or ended since the connection opened counts).
func (c *wsConn) user() runner.User {
	u := runner.User{Name: c.p.Username, Professor: c.p.Professor(), Limits: c.p.Limits}
	if c.s.exams != nil && !u.Professor {
		if lim, err := c.s.exams.Limits(context.Background(), u.Name); err == nil {
			u.Limits = lim
		}
	}
	return u
}

// hijackSpy keeps the connection the WebSocket library takes over, so that
// a close handshake that never ends can be cut.
type hijackSpy struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackSpy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = conn
	return conn, rw, err
}

func (h *hijackSpy) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (c *wsConn) writeLoop(ctx context.Context) {
	for {
		select {
		case <-c.closed:
			return
		case <-ctx.Done():
			return
		case m := <-c.replies:
			if !c.write(ctx, *m) {
				return
			}
		case <-c.wake:
			if !c.drain(ctx) {
				return
			}
		}
	}
}

// drain sends what every subscribed process has for this browser, a batch
// from each in turn, until nothing is left.
func (c *wsConn) drain(ctx context.Context) bool {
	for more := true; more; {
		more = false
		c.mu.Lock()
		subs := make([]*runner.Subscription, 0, len(c.subs))
		for _, sub := range c.subs {
			subs = append(subs, sub)
		}
		c.mu.Unlock()
		for _, sub := range subs {
			msgs, _, done := sub.Next(wsBatch)
			for _, m := range msgs {
				if !c.write(ctx, m) {
					return false
				}
			}
			if len(msgs) == wsBatch {
				more = true
			}
			if done {
				c.mu.Lock()
				if c.subs[sub.ID] == sub {
					delete(c.subs, sub.ID)
				}
				c.mu.Unlock()
				sub.Close()
			}
		}
		// Replies go out between batches, so a flood does not delay them.
		for pending := true; pending; {
			select {
			case m := <-c.replies:
				if !c.write(ctx, *m) {
					return false
				}
			default:
				pending = false
			}
		}
	}
	return true
}

func (c *wsConn) write(ctx context.Context, m protocol.Message) bool {
	b, err := json.Marshal(m)
	if err != nil {
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	err = c.c.Write(wctx, websocket.MessageText, b)
	cancel()
	if err != nil {
		c.close(websocket.StatusGoingAway, "write failed")
		return false
	}
	return true
}

// queueStart queues a run or repl request; false when too many wait.
// Starts are served in order by a startLoop that runs only while some are
// queued: admission may wait in the degradation queue, and must never hold
// up this browser's other messages (a stop must always go through).
func (c *wsConn) queueStart(m *protocol.Request) bool {
	select {
	case c.starts <- m:
		c.s.startsQueued.Add(1)
	default:
		return false
	}
	// Queued before the flag is read: a startLoop that found the queue
	// empty has cleared the flag under the lock (and a new one starts
	// here), or has not yet looked (and will find m).
	c.mu.Lock()
	if !c.starting {
		c.starting = true
		go c.startLoop()
	}
	c.mu.Unlock()
	return true
}

// startLoop serves run and repl requests one after the other, in the order
// the browser sent them (the last click on Run is the run that stays), and
// returns when none is left. Requests already queued still start after the
// browser has gone, as they would have had it stayed a moment longer: the
// cleanup service ends them once the owner has been gone for the grace
// period.
func (c *wsConn) startLoop() {
	for {
		var m *protocol.Request
		select {
		case m = <-c.starts:
		default:
			c.mu.Lock()
			if len(c.starts) == 0 {
				c.starting = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			continue
		}
		var sub *runner.Subscription
		var err error
		user := c.user()
		if m.Type == protocol.ReqRun {
			sub, err = c.s.runner.Run(user, m.ID, m.Path, c)
		} else {
			sub, err = c.s.runner.REPL(user, m.ID, c)
		}
		c.s.startsQueued.Add(-1)
		switch {
		case errors.Is(err, workspace.ErrFenced):
			c.s.note(context.Background(), user.Name, "denied", m.Type+" "+m.Path)
		case err == nil && m.Type == protocol.ReqRun:
			c.s.note(context.Background(), user.Name, "run", m.Path)
		case err == nil:
			c.s.note(context.Background(), user.Name, "repl", "")
		}
		if err != nil {
			c.sendStartError(m.ID, err)
			continue
		}
		c.subscribe(sub)
	}
}

// keepAlive pings the browser and re-checks the session, so a logout or a
// deactivation also ends the connection. Both run on timers, not on a
// goroutine of the connection's own: an idle browser costs a few bytes of
// timer instead of a parked goroutine's stack. The returned func stops them.
func (c *wsConn) keepAlive(ctx context.Context, r *http.Request) (stop func()) {
	over := func() bool {
		select {
		case <-c.closed:
			return true
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	var ping, recheck *time.Timer
	var mu sync.Mutex // orders the timers' re-arming with stop
	stopped := false
	rearm := func(t *time.Timer, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if !stopped && !over() {
			t.Reset(d)
		}
	}
	ping = time.AfterFunc(c.s.wsPing, func() {
		if over() {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		err := c.c.Ping(pctx)
		cancel()
		if err != nil {
			c.close(websocket.StatusGoingAway, "no answer to ping")
			return
		}
		rearm(ping, c.s.wsPing)
	})
	recheck = time.AfterFunc(c.s.wsRecheck, func() {
		if over() {
			return
		}
		if _, err := c.s.principal(r); apiIs(err, apierror.Unauthorized) {
			c.close(websocket.StatusCode(4401), "session ended: log in again")
			return
		}
		rearm(recheck, c.s.wsRecheck)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		ping.Stop()
		recheck.Stop()
	}
}

// wsHandlers serve the browser's requests by type (shared/API.md, "Running
// code"). An error a handler returns goes back as an "error" message
// carrying the request's id.
var wsHandlers = map[string]func(c *wsConn, m *protocol.Request) error{
	protocol.ReqRun:    (*wsConn).start,
	protocol.ReqREPL:   (*wsConn).start,
	protocol.ReqStdin:  (*wsConn).stdin,
	protocol.ReqStop:   (*wsConn).stop,
	protocol.ReqAttach: (*wsConn).attach,
}

// readLoop reads the browser's requests and dispatches them until the
// connection ends.
func (c *wsConn) readLoop(ctx context.Context) {
	for {
		m, err := c.nextRequest(ctx)
		if errors.Is(err, errConnEnded) {
			return
		}
		if err == nil {
			handle := wsHandlers[m.Type]
			if handle == nil {
				err = apierror.New(apierror.BadRequest, "Unknown message type %q.", m.Type)
			} else {
				err = handle(c, m)
			}
		}
		if err != nil {
			id := ""
			if m != nil {
				id = m.ID
			}
			c.sendError(id, err)
		}
	}
}

var errConnEnded = errors.New("websocket: the connection ended")

// nextRequest reads the next frame, spends one of the user's message
// allowance and decodes it. A refused or undecodable frame is an error for
// the browser (m nil); errConnEnded ends the loop.
func (c *wsConn) nextRequest(ctx context.Context) (*protocol.Request, error) {
	typ, b, err := c.c.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if !errors.As(err, &ce) && !errors.Is(err, context.Canceled) {
			c.s.log.Debug("websocket read ended", "user", c.p.Username, "err", err)
		}
		return nil, errConnEnded
	}
	if blocked, wait := c.s.wsRate.Blocked(c.p.Username); blocked {
		return nil, apierror.New(apierror.RateLimited, "You are sending too many messages; wait %d seconds.", int(wait.Seconds()))
	}
	c.s.wsRate.Hit(c.p.Username)
	m := &protocol.Request{}
	if typ != websocket.MessageText || json.Unmarshal(b, m) != nil {
		return nil, apierror.New(apierror.BadRequest, "Messages must be JSON text with a \"type\".")
	}
	return m, nil
}

// start queues a run or a REPL (startLoop serves them in order).
func (c *wsConn) start(m *protocol.Request) error {
	if !c.queueStart(m) {
		return apierror.New(apierror.RateLimited, "Too many programs are being started at once; wait a moment.")
	}
	return nil
}

func (c *wsConn) stdin(m *protocol.Request) error {
	return c.s.runner.Stdin(c.p.Username, m.ID, m.Data)
}

func (c *wsConn) stop(m *protocol.Request) error { return c.s.runner.Stop(c.p.Username, m.ID) }

// attach resumes the stream of a process still running, after m.Since.
func (c *wsConn) attach(m *protocol.Request) error {
	sub, err := c.s.runner.Attach(c.p.Username, m.ID, m.Since, c)
	if err != nil {
		return err
	}
	c.subscribe(sub)
	return nil
}
