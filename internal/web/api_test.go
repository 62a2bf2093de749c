package web

import (
	"archive/zip"
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// classroom sets up a professor, two students and a course folder.
func classroom(t *testing.T, st *store.Store) (*rig, *client, *client, *client) {
	r := newRig(t, st, nil)
	r.user("prof", store.RoleProfessor)
	r.user("alice", store.RoleStudent)
	r.user("bob", store.RoleStudent)
	prof, alice, bob := r.login("prof"), r.login("alice"), r.login("bob")
	if res := prof.do("POST", "/api/files/mkdir", map[string]string{"path": "Lecture Notes"}, nil); res.status != 201 {
		t.Fatalf("mkdir course folder: %d %s", res.status, res.body)
	}
	if res := prof.put("Lecture Notes/week1.py", "print('week 1')\n"); res.status != 200 {
		t.Fatalf("prof writes course file: %d %s", res.status, res.body)
	}
	if res := bob.put("Local/bob/secret.py", "answer = 42\n"); res.status != 200 {
		t.Fatalf("bob saves: %d %s", res.status, res.body)
	}
	return r, prof, alice, bob
}

func TestEveryRouteNeedsALogin(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), nil)
	anon := r.anon()
	routes := []struct{ method, path string }{
		{"POST", "/api/logout"}, {"GET", "/api/me"}, {"POST", "/api/password"},
		{"GET", "/api/files?path="}, {"DELETE", "/api/files?path=x"},
		{"GET", "/api/files/content?path=x"}, {"PUT", "/api/files/content?path=x"},
		{"POST", "/api/files/mkdir"}, {"POST", "/api/files/move"}, {"POST", "/api/files/copy"},
		{"POST", "/api/files/upload?dir=x"}, {"GET", "/api/files/download?path=x"},
		{"GET", "/api/admin/users"}, {"POST", "/api/admin/users"}, {"PATCH", "/api/admin/users/alice"},
		{"POST", "/api/admin/users/import"}, {"POST", "/api/admin/users/alice/password"},
		{"GET", "/api/admin/sessions"}, {"POST", "/api/admin/distribute"},
		{"GET", "/api/me/state"}, {"PUT", "/api/me/state"},
	}
	for _, rt := range routes {
		res := anon.do(rt.method, rt.path, []byte(`{}`), nil)
		if res.status != 401 || res.errCode() != "unauthorized" {
			t.Errorf("%s %s without a session: %d %s", rt.method, rt.path, res.status, res.body)
		}
	}
	// A forged cookie is no better.
	anon.http.Jar.SetCookies(mustURL(r.srv.URL), []*http.Cookie{{Name: CookieName, Value: "forged"}})
	if res := anon.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Errorf("forged cookie: %d", res.status)
	}
}

func TestStudentCannotReachAnotherHome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r, _, alice, _ := classroom(t, st)
		spellings := []string{
			"Local/bob/secret.py", "Local/alice/../bob/secret.py", "Local//bob/secret.py",
			"/Local/bob/secret.py", `Local\bob\secret.py`, "Local/bob/./secret.py",
			"./Local/bob/secret.py", "Local/bob/secret.py\x00.txt", "Local/%2e%2e/bob/secret.py",
			"Local/alice/%2e%2e/%2e%2e/Local/bob/secret.py", "Local/ｂob/secret.py", "Local/alice/../../Local/bob/secret.py",
			"Local/BOB/secret.py", "Local/bob",
		}
		for _, p := range spellings {
			for _, tc := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/files/content?path=" + qp(p), nil},
				{"GET", "/api/files?path=" + qp(p), nil},
				{"GET", "/api/files/download?path=" + qp(p), nil},
				{"PUT", "/api/files/content?path=" + qp(p), []byte("pwned")},
				{"DELETE", "/api/files?path=" + qp(p), nil},
				{"POST", "/api/files/move", map[string]string{"from": p, "to": "Local/alice/stolen.py"}},
				{"POST", "/api/files/copy", map[string]string{"from": p, "to": "Local/alice/stolen.py"}},
				{"POST", "/api/files/move", map[string]string{"from": "Local/alice/welcome.py", "to": p}},
				{"POST", "/api/files/copy", map[string]string{"from": "Local/alice/welcome.py", "to": p}},
				{"POST", "/api/files/mkdir", map[string]string{"path": p}},
			} {
				res := alice.do(tc.method, tc.path, tc.body, nil)
				if res.status < 400 || res.status == 401 || res.errCode() == "" {
					t.Errorf("alice %s %s %q: %d %s", tc.method, tc.path, p, res.status, res.body)
				}
				if strings.Contains(string(res.body), "answer = 42") {
					t.Fatalf("alice read bob's file via %q", p)
				}
			}
		}
		b, err := os.ReadFile(filepath.Join(r.data, "ide", "Local", "bob", "secret.py"))
		if err != nil || string(b) != "answer = 42\n" {
			t.Fatalf("bob's file changed: %q %v", b, err)
		}
		if _, err := os.Stat(filepath.Join(r.data, "ide", "Local", "alice", "stolen.py")); err == nil {
			t.Fatal("a copy of bob's file reached alice")
		}
		// The listing of Local shows alice only her own home.
		var list struct{ Entries []entryView }
		res := alice.do("GET", "/api/files?path=Local", nil, nil)
		res.json(t, &list)
		if res.status != 200 || len(list.Entries) != 1 || list.Entries[0].Name != "alice" {
			t.Fatalf("alice lists Local: %d %s", res.status, res.body)
		}
	})
}

func TestCourseFoldersReadOnlyForStudents(t *testing.T) {
	r, prof, alice, _ := classroom(t, storetest.SQLite(t))
	if res := alice.get("Lecture Notes/week1.py"); res.status != 200 || string(res.body) != "print('week 1')\n" {
		t.Fatalf("student reads course file: %d %s", res.status, res.body)
	}
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/api/files/content?path=" + qp("Lecture Notes/week1.py"), []byte("x")},
		{"PUT", "/api/files/content?path=" + qp("Lecture Notes/new.py"), []byte("x")},
		{"DELETE", "/api/files?path=" + qp("Lecture Notes/week1.py"), nil},
		{"DELETE", "/api/files?path=" + qp("Lecture Notes"), nil},
		{"POST", "/api/files/mkdir", map[string]string{"path": "Lecture Notes/sub"}},
		{"POST", "/api/files/mkdir", map[string]string{"path": "My Course"}},
		{"POST", "/api/files/move", map[string]string{"from": "Lecture Notes/week1.py", "to": "Local/alice/w.py"}},
		{"POST", "/api/files/move", map[string]string{"from": "Local/alice/welcome.py", "to": "Lecture Notes/w.py"}},
		{"POST", "/api/files/copy", map[string]string{"from": "Local/alice/welcome.py", "to": "Lecture Notes/w.py"}},
	} {
		if res := alice.do(tc.method, tc.path, tc.body, nil); res.status != 403 || res.errCode() != "forbidden" {
			t.Errorf("student %s %s: %d %s", tc.method, tc.path, res.status, res.body)
		}
	}
	// Copying course material into her own home is allowed.
	if res := alice.do("POST", "/api/files/copy", map[string]string{"from": "Lecture Notes/week1.py", "to": "Local/alice/week1.py"}, nil); res.status != 201 {
		t.Fatalf("copy course file home: %d %s", res.status, res.body)
	}
	// The professor can read and change everything.
	if res := prof.get("Local/bob/secret.py"); res.status != 200 {
		t.Fatalf("prof reads bob: %d", res.status)
	}
	if res := prof.put("Local/bob/feedback.txt", "good work"); res.status != 200 {
		t.Fatalf("prof writes into bob's home: %d %s", res.status, res.body)
	}
	_ = r
}

func TestSaveReadETagAndConflict(t *testing.T) {
	_, _, alice, _ := classroom(t, storetest.SQLite(t))
	res := alice.put("Local/alice/hw1.py", "print(1)\n")
	var saved fileInfoView
	res.json(t, &saved)
	if res.status != 200 || saved.ETag == "" || saved.Size != 9 || res.header.Get("ETag") != saved.ETag {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	got := alice.get("Local/alice/hw1.py")
	if got.status != 200 || string(got.body) != "print(1)\n" || got.header.Get("ETag") != saved.ETag {
		t.Fatalf("read back: %d %q etag %q", got.status, got.body, got.header.Get("ETag"))
	}
	if !strings.HasPrefix(got.header.Get("Content-Type"), "text/x-python") {
		t.Errorf("content type %q", got.header.Get("Content-Type"))
	}
	// Tab 1 saves with the right ETag; tab 2's stale save is refused, not lost.
	ok := alice.do("PUT", "/api/files/content?path="+qp("Local/alice/hw1.py"), []byte("print(2)\n"), map[string]string{"If-Match": saved.ETag})
	if ok.status != 200 {
		t.Fatalf("conditional save: %d %s", ok.status, ok.body)
	}
	stale := alice.do("PUT", "/api/files/content?path="+qp("Local/alice/hw1.py"), []byte("print(3)\n"), map[string]string{"If-Match": saved.ETag})
	if stale.status != 412 || stale.errCode() != "conflict" {
		t.Fatalf("stale save: %d %s", stale.status, stale.body)
	}
	if got := alice.get("Local/alice/hw1.py"); string(got.body) != "print(2)\n" {
		t.Fatalf("after conflict: %q", got.body)
	}
	// A student's HTML is served as inert text on this origin.
	alice.put("Local/alice/page.html", "<script>alert(1)</script>")
	h := alice.get("Local/alice/page.html")
	if ct := h.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(h.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("html served as %q csp %q", ct, h.header.Get("Content-Security-Policy"))
	}
}

func TestBadInputGetsClearErrors(t *testing.T) {
	r, _, alice, _ := classroom(t, storetest.SQLite(t))
	big := bytes.Repeat([]byte("x"), int(r.cfg.MaxFileBytes)+1)
	cases := []struct {
		name         string
		method, path string
		body         any
		hdr          map[string]string
		status       int
		code         string
	}{
		{"malformed json", "POST", "/api/files/mkdir", []byte(`{"path":`), map[string]string{"Content-Type": "application/json"}, 400, "bad_request"},
		{"json not object", "POST", "/api/files/mkdir", []byte(`[1,2]`), nil, 400, "bad_request"},
		{"trailing json", "POST", "/api/files/mkdir", []byte(`{"path":"Local/alice/a"}{}`), nil, 400, "bad_request"},
		{"empty body", "POST", "/api/login", []byte(``), nil, 400, "bad_request"},
		{"huge json", "POST", "/api/files/mkdir", []byte(`{"path":"` + strings.Repeat("a", 20000) + `"}`), nil, 413, "too_large"},
		{"wrong content type", "POST", "/api/files/mkdir", []byte(`{"path":"Local/alice/a"}`), map[string]string{"Content-Type": "text/plain"}, 400, "bad_request"},
		{"empty name", "POST", "/api/files/mkdir", map[string]string{"path": ""}, nil, 400, "bad_request"},
		{"over-long name", "PUT", "/api/files/content?path=" + qp("Local/alice/"+strings.Repeat("n", 300)), []byte("x"), nil, 400, "bad_request"},
		{"control char", "PUT", "/api/files/content?path=" + qp("Local/alice/a\x01b.py"), []byte("x"), nil, 400, "bad_request"},
		{"newline", "PUT", "/api/files/content?path=" + qp("Local/alice/a\nb.py"), []byte("x"), nil, 400, "bad_request"},
		{"nul", "PUT", "/api/files/content?path=" + qp("Local/alice/a\x00b.py"), []byte("x"), nil, 400, "bad_request"},
		{"file too large", "PUT", "/api/files/content?path=" + qp("Local/alice/big.txt"), big, nil, 413, "too_large"},
		{"move onto existing", "POST", "/api/files/move", map[string]string{"from": "Local/alice/welcome.py", "to": "Local/alice/welcome.py"}, nil, 409, "conflict"},
		{"move into itself", "POST", "/api/files/move", map[string]string{"from": "Local/alice/dir", "to": "Local/alice/dir/inner"}, nil, 400, "bad_request"},
		{"move missing", "POST", "/api/files/move", map[string]string{"from": "Local/alice/none.py", "to": "Local/alice/x.py"}, nil, 404, "not_found"},
		{"delete own home", "DELETE", "/api/files?path=Local/alice", nil, nil, 403, "forbidden"},
		{"read missing", "GET", "/api/files/content?path=Local/alice/none.py", nil, nil, 404, "not_found"},
		{"read a folder", "GET", "/api/files/content?path=Local/alice/dir", nil, nil, 400, "bad_request"},
		{"unknown route", "GET", "/api/nope", nil, nil, 404, "not_found"},
	}
	if res := alice.do("POST", "/api/files/mkdir", map[string]string{"path": "Local/alice/dir"}, nil); res.status != 201 {
		t.Fatalf("mkdir: %d %s", res.status, res.body)
	}
	for _, tc := range cases {
		res := alice.do(tc.method, tc.path, tc.body, tc.hdr)
		if res.status != tc.status || res.errCode() != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, res.status, res.body, tc.status, tc.code)
		}
		var e errorBody
		res.json(t, &e)
		if e.Error.Message == "" {
			t.Errorf("%s: no message for a person", tc.name)
		}
	}
	// Nothing was lost and the server still serves.
	if res := alice.get("Local/alice/welcome.py"); res.status != 200 || len(res.body) == 0 {
		t.Fatalf("welcome.py after bad input: %d", res.status)
	}
}

func TestQuotaAndUpload(t *testing.T) {
	r, _, alice, _ := classroom(t, storetest.SQLite(t))
	// Fill the home close to the 256 KiB quota with files under the 64 KiB file limit.
	chunk := strings.Repeat("q", 60<<10)
	var quotaHit bool
	for i := 0; i < 6; i++ {
		res := alice.put("Local/alice/fill"+string(rune('a'+i))+".txt", chunk)
		if res.status == 507 && res.errCode() == "limit_reached" {
			quotaHit = true
			if !strings.Contains(string(res.body), "MB") && !strings.Contains(string(res.body), "KB") && !strings.Contains(string(res.body), "quota") {
				t.Errorf("quota message does not say the limit: %s", res.body)
			}
			break
		}
		if res.status != 200 {
			t.Fatalf("fill %d: %d %s", i, res.status, res.body)
		}
	}
	if !quotaHit {
		t.Fatal("quota never reached")
	}
	// Upload: several files at once, one over the size limit is refused.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.py")
	fw.Write([]byte("print('a')"))
	mw.Close()
	alice.do("DELETE", "/api/files?path=Local/alice/filla.txt", nil, nil)
	alice.do("DELETE", "/api/files?path=Local/alice/fillb.txt", nil, nil)
	res := alice.do("POST", "/api/files/upload?dir="+qp("Local/alice"), buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if res.status != 201 || !strings.Contains(string(res.body), "Local/alice/a.py") {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	fw, _ = mw.CreateFormFile("file", "big.bin")
	fw.Write(bytes.Repeat([]byte{0}, int(r.cfg.MaxFileBytes)+10))
	mw.Close()
	res = alice.do("POST", "/api/files/upload?dir="+qp("Local/alice"), buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if res.status != 413 {
		t.Fatalf("oversized upload: %d %s", res.status, res.body)
	}
	// An upload named with a path cannot escape.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	fw, _ = mw.CreateFormFile("file", "../bob/evil.py")
	fw.Write([]byte("x"))
	mw.Close()
	res = alice.do("POST", "/api/files/upload?dir="+qp("Local/alice"), buf.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	// Go's multipart reader keeps only the last element of a file name, so
	// the file lands in alice's own folder; anything else must be refused.
	if res.status != 400 && !(res.status == 201 && strings.Contains(string(res.body), `"Local/alice/evil.py"`)) {
		t.Fatalf("upload named with a path: %d %s", res.status, res.body)
	}
	if _, err := os.Stat(filepath.Join(r.data, "ide", "Local", "bob", "evil.py")); err == nil {
		t.Fatal("upload escaped into bob's home")
	}
}

func TestDownloadFolderAsZip(t *testing.T) {
	_, _, alice, _ := classroom(t, storetest.SQLite(t))
	alice.do("POST", "/api/files/mkdir", map[string]string{"path": "Local/alice/proj"}, nil)
	alice.put("Local/alice/proj/main.py", "print('main')\n")
	alice.do("POST", "/api/files/mkdir", map[string]string{"path": "Local/alice/proj/lib"}, nil)
	alice.put("Local/alice/proj/lib/util.py", "X = 1\n")
	res := alice.do("GET", "/api/files/download?path="+qp("Local/alice/proj"), nil, nil)
	if res.status != 200 || res.header.Get("Content-Type") != "application/zip" || !strings.Contains(res.header.Get("Content-Disposition"), "proj.zip") {
		t.Fatalf("zip: %d %v", res.status, res.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			t.Errorf("unsafe zip entry %q", f.Name)
		}
	}
	for _, want := range []string{"main.py", "lib/util.py"} {
		found := false
		for n := range names {
			if strings.HasSuffix(n, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("zip lacks %s: %v", want, names)
		}
	}
	file := alice.do("GET", "/api/files/download?path="+qp("Local/alice/proj/main.py"), nil, nil)
	if file.status != 200 || string(file.body) != "print('main')\n" || !strings.Contains(file.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("file download: %d %v", file.status, file.header)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	_, _, alice, _ := classroom(t, storetest.SQLite(t))
	evil := map[string]string{"Origin": "https://evil.example"}
	if res := alice.do("PUT", "/api/files/content?path="+qp("Local/alice/x.py"), []byte("x"), evil); res.status != 403 || res.errCode() != "forbidden" {
		t.Fatalf("cross-origin save: %d %s", res.status, res.body)
	}
	if res := alice.do("POST", "/api/logout", nil, map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}); res.status != 403 {
		t.Fatalf("cross-site fetch: %d", res.status)
	}
	if res := alice.get("Local/alice/x.py"); res.status != 404 {
		t.Fatalf("cross-origin write happened: %d", res.status)
	}
	// Reading is not state-changing, and curl-like clients (no Origin) still work.
	if res := alice.do("GET", "/api/me", nil, evil); res.status != 200 {
		t.Fatalf("GET from another origin: %d", res.status)
	}
	if res := alice.do("PUT", "/api/files/content?path="+qp("Local/alice/y.py"), []byte("y"), map[string]string{"Origin": ""}); res.status != 200 {
		t.Fatalf("no-Origin client: %d %s", res.status, res.body)
	}
}

func TestLoginCookieFlags(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	r.user("alice", store.RoleStudent)
	c := r.anon()
	res := c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-pw"}, nil)
	sc := res.header.Get("Set-Cookie")
	if res.status != 200 || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
		t.Fatalf("plain HTTP login cookie: %d %q", res.status, sc)
	}
	res = c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-pw"}, map[string]string{"X-Forwarded-Proto": "https"})
	if sc := res.header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Fatalf("cookie behind a TLS proxy lacks Secure: %q", sc)
	}
	var me struct{ Username, Role, Home string }
	c.do("GET", "/api/me", nil, nil).json(t, &me)
	if me.Username != "alice" || me.Role != "student" || me.Home != "Local/alice" {
		t.Fatalf("me: %+v", me)
	}
	if res := c.do("POST", "/api/logout", nil, nil); res.status != 204 {
		t.Fatalf("logout: %d", res.status)
	}
	if res := c.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("after logout: %d", res.status)
	}
	bad := r.anon().do("POST", "/api/login", map[string]string{"username": "alice", "password": "nope"}, nil)
	if bad.status != 401 || bad.errCode() != "unauthorized" {
		t.Fatalf("wrong password: %d %s", bad.status, bad.body)
	}
}

func TestLoginThrottledWithRetryAfter(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), func(c *config.Config) { c.LoginPerUser = 3 })
	r.user("alice", store.RoleStudent)
	c := r.anon()
	var last result
	for i := 0; i < 4; i++ {
		last = c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess"}, nil)
	}
	if last.status != 429 || last.errCode() != "rate_limited" || last.header.Get("Retry-After") == "" {
		t.Fatalf("4th guess: %d %s retry-after %q", last.status, last.body, last.header.Get("Retry-After"))
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
