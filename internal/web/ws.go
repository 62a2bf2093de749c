package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/runner"
)

// WebSocket tuning. The send queue bounds what the server holds for one
// browser: one that cannot keep up is disconnected (it re-attaches and gets
// what it missed from the process's replay buffer) instead of slowing the
// program or anyone else.
const (
	wsSendQueue    = 256
	wsWriteTimeout = 10 * time.Second
	wsPingEvery    = 25 * time.Second
	wsRecheckEvery = 60 * time.Second // how often the session behind a socket is re-validated
)

type clientMsg struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Path  string `json:"path"`
	Data  string `json:"data"`
	Since uint64 `json:"since"`
}

type wsConn struct {
	s      *Server
	c      *websocket.Conn
	p      auth.Principal
	out    chan runner.Message
	closed chan struct{}
	once   sync.Once
}

// Send queues m without blocking; a full queue means a slow client, which is
// disconnected.
func (c *wsConn) Send(m runner.Message) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	select {
	case c.out <- m:
		return true
	default:
		c.close(websocket.StatusPolicyViolation, "too slow: reconnect to resume")
		return false
	}
}

func (c *wsConn) close(code websocket.StatusCode, why string) {
	c.once.Do(func() {
		close(c.closed)
		go c.c.Close(code, why)
	})
}

func (c *wsConn) sendError(id string, err error) {
	e := apierror.From(err)
	if e.Code == apierror.Internal {
		c.s.log.Error("websocket request failed", "user", c.p.Username, "err", err)
	}
	c.Send(runner.Message{Type: runner.MsgError, ID: id, Code: string(e.Code), Message: e.Message})
}

// sameOrigin refuses a WebSocket upgrade from another site (cross-site
// WebSocket hijacking): the browser sends the cookie with it, so the
// Origin must be ours or one of the configured public origins.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.PublicOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
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
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // Origin checked above
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(s.cfg.WSMaxMessageBytes)
	c := &wsConn{s: s, c: conn, p: p, out: make(chan runner.Message, wsSendQueue), closed: make(chan struct{})}
	reg := s.runner.Registry()
	reg.Connected(p.Username)
	s.wsOpen.Add(1)
	defer func() {
		s.runner.Detach(p.Username, c)
		reg.Disconnected(p.Username)
		s.wsOpen.Add(-1)
		c.close(websocket.StatusNormalClosure, "")
	}()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go c.writeLoop(ctx)
	go c.keepAlive(ctx, r)
	c.readLoop(ctx)
}

func (c *wsConn) writeLoop(ctx context.Context) {
	for {
		select {
		case <-c.closed:
			return
		case <-ctx.Done():
			return
		case m := <-c.out:
			b, err := json.Marshal(m)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
			err = c.c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "write failed")
				return
			}
		}
	}
}

// keepAlive pings the browser and re-checks the session, so a logout or a
// deactivation also ends the connection.
func (c *wsConn) keepAlive(ctx context.Context, r *http.Request) {
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	recheck := time.NewTicker(wsRecheckEvery)
	defer recheck.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
			err := c.c.Ping(pctx)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "no answer to ping")
				return
			}
		case <-recheck.C:
			if _, err := c.s.principal(r); apierror.Is(err, apierror.Unauthorized) {
				c.close(websocket.StatusCode(4401), "session ended: log in again")
				return
			}
		}
	}
}

func (c *wsConn) readLoop(ctx context.Context) {
	user := runner.User{Name: c.p.Username, Professor: c.p.Professor()}
	for {
		typ, b, err := c.c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) && !errors.Is(err, context.Canceled) {
				c.s.log.Debug("websocket read ended", "user", c.p.Username, "err", err)
			}
			return
		}
		if blocked, wait := c.s.wsRate.Blocked(c.p.Username); blocked {
			e := apierror.New(apierror.RateLimited, "You are sending too many messages; wait %d seconds.", int(wait.Seconds()))
			c.sendError("", e)
			continue
		}
		c.s.wsRate.Hit(c.p.Username)
		var m clientMsg
		if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
			c.sendError("", apierror.New(apierror.BadRequest, "Messages must be JSON text with a \"type\"."))
			continue
		}
		var opErr error
		switch m.Type {
		case "run":
			opErr = c.s.runner.Run(user, m.ID, m.Path, c)
		case "repl":
			opErr = c.s.runner.REPL(user, m.ID, c)
		case "stdin":
			opErr = c.s.runner.Stdin(user.Name, m.ID, m.Data)
		case "stop":
			opErr = c.s.runner.Stop(user.Name, m.ID)
		case "attach":
			opErr = c.s.runner.Attach(user.Name, m.ID, m.Since, c)
		default:
			opErr = apierror.New(apierror.BadRequest, "Unknown message type %q.", m.Type)
		}
		if opErr != nil {
			c.sendError(m.ID, opErr)
		}
	}
}
