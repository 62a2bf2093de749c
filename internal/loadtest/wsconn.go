package loadtest

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/protocol"
)

// wsConn is one student's WebSocket: a reader goroutine turns frames into
// messages on a channel, which the student's current action consumes.
type wsConn struct {
	c      *websocket.Conn
	msgs   chan protocol.Message
	done   chan struct{} // closed when the reader has stopped
	cancel context.CancelFunc
	err    error // why the reader stopped; read after done
}

func dialWS(ctx context.Context, c *client) (*wsConn, *opError) {
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/ws"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		return nil, transportError("connect", err)
	}
	conn.SetReadLimit(maxBody) // a figure or a merged chunk of output
	rctx, cancel := context.WithCancel(context.Background())
	w := &wsConn{c: conn, msgs: make(chan protocol.Message, 1024), done: make(chan struct{}), cancel: cancel}
	go w.read(rctx)
	return w, nil
}

func (w *wsConn) read(ctx context.Context) {
	defer close(w.done)
	for {
		_, b, err := w.c.Read(ctx)
		if err != nil {
			w.err = err
			return
		}
		var m protocol.Message
		if err := json.Unmarshal(b, &m); err != nil {
			m = protocol.Message{Type: "invalid", Data: string(b[:min(len(b), 200)])}
		}
		select {
		case w.msgs <- m:
		case <-ctx.Done():
			w.err = ctx.Err()
			return
		}
	}
}

func (w *wsConn) send(ctx context.Context, msg protocol.Request) *opError {
	b, _ := json.Marshal(msg) // strings and a number always marshal
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		return transportError("send "+msg.Type, err)
	}
	return nil
}

// next is the next message; it fails when ctx ends or the connection closed
// (after the messages already read are consumed).
func (w *wsConn) next(ctx context.Context) (protocol.Message, *opError) {
	select {
	case m := <-w.msgs:
		return m, nil
	default:
	}
	select {
	case m := <-w.msgs:
		return m, nil
	case <-w.done:
		select {
		case m := <-w.msgs:
			return m, nil
		default:
		}
		return protocol.Message{}, failure("connection closed", "%v", w.err)
	case <-ctx.Done():
		return protocol.Message{}, transportError("wait", ctx.Err())
	}
}

// alive is false once the connection has closed.
func (w *wsConn) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// settle waits (briefly) for the reader to see why a connection that
// failed a write closed; it reports whether it has.
func (w *wsConn) settle() bool {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
		return false
	}
}

// tooSlow says the server closed the connection because this client did
// not keep up with a program's output; the browser then re-attaches.
func (w *wsConn) tooSlow() bool {
	return !w.alive() && websocket.CloseStatus(w.err) == websocket.StatusPolicyViolation
}

// close ends the connection and its reader; messages not consumed are lost,
// as in a browser tab that goes away.
func (w *wsConn) close() {
	w.c.Close(websocket.StatusNormalClosure, "")
	w.cancel()
	<-w.done
}
