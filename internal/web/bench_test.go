package web

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// BenchmarkSaveOverHTTP is the autosave path end to end: a logged-in
// browser PUTs a 4 KiB file with If-Match through the real handler chain
// (session check, origin check, workspace atomic write with fsync) over
// loopback HTTP.
func BenchmarkSaveOverHTTP(b *testing.B) {
	st := storetest.SQLite(b)
	_, srv, _, ws := newTestServer(b, st, nil)
	ros := &roster.Roster{Store: st, Workspace: ws}
	if _, err := ros.Create(b.Context(), roster.NewUser{Username: "alice", Password: "alice-pw", Role: store.RoleStudent}); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"username":"alice","password":"alice-pw"}`))
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("login: %v %v", res, err)
	}
	res.Body.Close()
	body := bytes.Repeat([]byte("print('hello')\n"), 4096/15)
	target := srv.URL + "/api/files/content?path=" + url.QueryEscape("Local/alice/autosave.py")
	etag := ""
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("PUT", target, bytes.NewReader(body))
		req.Header.Set("Origin", srv.URL)
		if etag != "" {
			req.Header.Set("If-Match", etag)
		}
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("save: %d", res.StatusCode)
		}
		etag = res.Header.Get("ETag")
		body[0] ^= 1 // a different content each time, as typing makes
	}
}
