package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// fakeServer answers the part of the API the file actions use, keeping
// files in memory with real ETag and If-Match rules; with hang set it
// never answers at all. It lets the students' loop be tested for its
// bounds without a real server.
type fakeServer struct {
	srv      *httptest.Server
	hang     bool
	requests atomic.Int64
	// refuse answers every run with limit_reached (and a stop of it, as
	// the server does, with not_found).
	refuse bool

	mu    sync.Mutex
	files map[string][]byte
}

func newFakeServer(t *testing.T, hang bool) *fakeServer {
	f := &fakeServer{hang: hang, files: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.CloseClientConnections(); f.srv.Close() })
	return f
}

func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.hang {
		// Read the body first: only then does net/http watch the
		// connection and end the context when the client gives up.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}
	path := r.URL.Query().Get("path")
	switch r.Method + " " + r.URL.Path {
	case "POST /api/login":
		http.SetCookie(w, &http.Cookie{Name: "pythonide_session", Value: "s", Path: "/"})
		w.Write([]byte(`{}`))
	case "POST /api/logout":
		w.WriteHeader(http.StatusNoContent)
	case "GET /api/files":
		f.mu.Lock()
		var entries []map[string]string
		for p := range f.files {
			if dir, name, _ := strings.Cut(strings.TrimPrefix(p, path+"/"), "/"); name == "" && strings.HasPrefix(p, path+"/") {
				entries = append(entries, map[string]string{"name": dir})
			}
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"path": path, "entries": entries})
	case "GET /api/files/content":
		f.mu.Lock()
		b, ok := f.files[path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":{"code":"not_found","message":"no"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", etag(b))
		w.Write(b)
	case "PUT /api/files/content":
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		old, ok := f.files[path]
		if m := r.Header.Get("If-Match"); m != "" && (!ok || m != etag(old)) {
			f.mu.Unlock()
			http.Error(w, `{"error":{"code":"conflict","message":"stale"}}`, http.StatusPreconditionFailed)
			return
		}
		f.files[path] = b
		f.mu.Unlock()
		w.Header().Set("ETag", etag(b))
		w.Write([]byte(`{}`))
	case "GET /ws":
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		for {
			_, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var m struct{ Type, ID string }
			json.Unmarshal(b, &m)
			code := map[string]string{"run": "limit_reached", "stop": "not_found"}[m.Type]
			if f.refuse && code != "" {
				out, _ := json.Marshal(map[string]string{"type": "error", "id": m.ID, "code": code, "message": "no"})
				c.Write(r.Context(), websocket.MessageText, out)
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// fakeProvisioner remembers what it was asked to make.
type fakeProvisioner struct {
	names    []string
	password string
}

func (p *fakeProvisioner) Provision(_ context.Context, names []string, password string) error {
	p.names, p.password = names, password
	return nil
}
