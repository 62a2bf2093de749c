package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/roster"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/workspace"
)

// historyRig is a rig whose workspace keeps history and a trash beside
// it, as serve's does (<data>/history, <data>/trash), with a small quota.
func historyRig(t *testing.T, st *store.Store) (*rig, *client, *client, *client) {
	t.Helper()
	c := config.Defaults()
	c.DataDir = t.TempDir()
	c.MaxFileBytes = 64 << 10
	c.QuotaBytes = 4 << 10
	c.MaxJSONBytes = 16 << 10
	c.LoginPerUser = 1000
	c.LoginPerAddr = 1000
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	wopts := workspace.Options{MaxFileBytes: c.MaxFileBytes, QuotaBytes: c.QuotaBytes,
		HistoryDir: filepath.Join(c.DataDir, "history"), TrashDir: filepath.Join(c.DataDir, "trash")}
	if os.Geteuid() == 0 {
		wopts.HomeUID, wopts.HomeGID = c.SandboxUID, c.SandboxUID
	}
	ws, err := workspace.Open(c.WorkspaceRoot(), wopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := auth.NewManager(st, auth.Options{TTL: c.SessionTTL, LoginPerUser: c.LoginPerUser, LoginPerAddr: c.LoginPerAddr, LoginWindow: c.LoginWindow}, log)
	ros := &roster.Roster{Store: st, Workspace: ws, EndSessions: func(ctx context.Context, u string) error { return m.EndUserSessions(ctx, u, "") }}
	s := New(Deps{Config: c, Store: st, Workspace: ws, Auth: m, Roster: ros, Log: log})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	r := &rig{t: t, srv: srv, cfg: c, st: st, ws: ws, data: c.DataDir, server: s}
	r.user("prof", store.RoleProfessor)
	r.user("alice", store.RoleStudent)
	r.user("bob", store.RoleStudent)
	return r, r.login("prof"), r.login("alice"), r.login("bob")
}

type historyBody struct {
	Path     string        `json:"path"`
	Versions []versionView `json:"versions"`
}

type trashBody struct {
	Items []trashItemView `json:"items"`
}

func TestHistoryAndTrashRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r, prof, alice, bob := historyRig(t, st)
		const p = "Local/alice/page.html"
		for _, content := range []string{"<script>alert(1)</script>", "second", "third"} {
			if res := alice.put(p, content); res.status != 200 {
				t.Fatalf("save: %d %s", res.status, res.body)
			}
		}

		// The list, newest first, with the exact shape.
		res := alice.do("GET", "/api/files/history?path="+qp(p), nil, nil)
		var h historyBody
		res.json(t, &h)
		if res.status != 200 || h.Path != p || len(h.Versions) != 2 || h.Versions[0].Size != 6 || h.Versions[1].Size != 25 {
			t.Fatalf("history: %d %s", res.status, res.body)
		}
		for _, key := range []string{`"id"`, `"saved_at"`, `"size"`, `"etag"`} {
			if !strings.Contains(string(res.body), key) {
				t.Fatalf("history without %s: %s", key, res.body)
			}
		}
		oldest := h.Versions[1]

		// A version's bytes are served like the file's: nothing runs.
		res = alice.do("GET", "/api/files/history/content?path="+qp(p)+"&version="+oldest.ID, nil, nil)
		if res.status != 200 || string(res.body) != "<script>alert(1)</script>" || res.header.Get("ETag") != oldest.ETag {
			t.Fatalf("version content: %d %q", res.status, res.body)
		}
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") ||
			res.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("served as %q, %v", ct, res.header)
		}
		if res := alice.do("GET", "/api/files/history/content?path="+qp(p)+"&version=nope", nil, nil); res.status != 400 || res.errCode() != "bad_request" {
			t.Fatalf("a bad version: %d %s", res.status, res.body)
		}

		// Restore: 200 with the file's info, like PUT content; the current
		// content becomes a version.
		res = alice.do("POST", "/api/files/history/restore", map[string]string{"path": p, "version": oldest.ID}, nil)
		var info fileInfoView
		res.json(t, &info)
		if res.status != 200 || info.Path != p || info.ETag != oldest.ETag || res.header.Get("ETag") != oldest.ETag || info.Size != 25 {
			t.Fatalf("restore: %d %s", res.status, res.body)
		}
		if got := alice.get(p); string(got.body) != "<script>alert(1)</script>" {
			t.Fatalf("after restore: %q", got.body)
		}
		h = historyBody{}
		alice.do("GET", "/api/files/history?path="+qp(p), nil, nil).json(t, &h)
		if len(h.Versions) != 3 || h.Versions[0].Size != 5 {
			t.Fatalf("after restore: %+v", h)
		}

		// Another student: 404, exactly as reading the file.
		read := bob.get(p)
		for _, res := range []result{
			bob.do("GET", "/api/files/history?path="+qp(p), nil, nil),
			bob.do("GET", "/api/files/history/content?path="+qp(p)+"&version="+oldest.ID, nil, nil),
			bob.do("POST", "/api/files/history/restore", map[string]string{"path": p, "version": oldest.ID}, nil),
		} {
			if res.status != 404 || res.errCode() != "not_found" || string(res.body) != string(read.body) || strings.Contains(string(res.body), "script") {
				t.Fatalf("bob: %d %s (reading: %d %s)", res.status, res.body, read.status, read.body)
			}
		}
		// The teacher sees it; a course file has none (400).
		if res := prof.do("GET", "/api/files/history?path="+qp(p), nil, nil); res.status != 200 || !strings.Contains(string(res.body), oldest.ID) {
			t.Fatalf("professor: %d %s", res.status, res.body)
		}
		if res := alice.do("GET", "/api/files/history?path="+qp("Lecture Notes/x.py"), nil, nil); res.status != 400 {
			t.Fatalf("course file: %d %s", res.status, res.body)
		}

		// The trash: delete, list, restore.
		if res := alice.do("DELETE", "/api/files?path="+qp(p), nil, nil); res.status != 204 {
			t.Fatalf("delete: %d %s", res.status, res.body)
		}
		res = alice.do("GET", "/api/files/trash", nil, nil)
		var tb trashBody
		res.json(t, &tb)
		if res.status != 200 || len(tb.Items) != 1 || tb.Items[0].Path != p || tb.Items[0].Type != "file" || tb.Items[0].Size != 25 || tb.Items[0].DeletedAt.IsZero() {
			t.Fatalf("trash: %d %s", res.status, res.body)
		}
		for _, key := range []string{`"id"`, `"path"`, `"type"`, `"size"`, `"deleted_at"`} {
			if !strings.Contains(string(res.body), key) {
				t.Fatalf("trash without %s: %s", key, res.body)
			}
		}
		id := tb.Items[0].ID
		if res := prof.do("GET", "/api/files/trash?user=alice", nil, nil); res.status != 200 || !strings.Contains(string(res.body), id) {
			t.Fatalf("professor lists alice's trash: %d %s", res.status, res.body)
		}
		if res := bob.do("GET", "/api/files/trash?user=alice", nil, nil); res.status != 404 || res.errCode() != "not_found" || strings.Contains(string(res.body), id) {
			t.Fatalf("bob lists alice's trash: %d %s", res.status, res.body)
		}
		if res := bob.do("POST", "/api/files/trash/restore", map[string]string{"id": id, "user": "alice"}, nil); res.status != 404 {
			t.Fatalf("bob restores alice's item: %d %s", res.status, res.body)
		}
		if res := bob.do("POST", "/api/files/trash/restore", map[string]string{"id": id}, nil); res.status != 404 {
			t.Fatalf("bob restores alice's id from his own trash: %d %s", res.status, res.body)
		}
		if res := alice.do("POST", "/api/files/trash/restore", map[string]string{"id": "../x"}, nil); res.status != 400 {
			t.Fatalf("a bad id: %d %s", res.status, res.body)
		}
		alice.put(p, "in the way")
		res = alice.do("POST", "/api/files/trash/restore", map[string]string{"id": id}, nil)
		if res.status != 200 || string(res.body) != `{"path":"Local/alice/page (restored).html"}`+"\n" {
			t.Fatalf("restore beside: %d %s", res.status, res.body)
		}
		if got := alice.get("Local/alice/page (restored).html"); string(got.body) != "<script>alert(1)</script>" {
			t.Fatalf("restored content %q", got.body)
		}

		// Restoring counts against the quota (507).
		big := strings.Repeat("x", 3<<10)
		if res := alice.put("Local/alice/big.txt", big); res.status != 200 {
			t.Fatalf("big: %d %s", res.status, res.body)
		}
		alice.do("DELETE", "/api/files?path="+qp("Local/alice/big.txt"), nil, nil)
		if res := alice.put("Local/alice/fill.txt", big); res.status != 200 {
			t.Fatalf("fill: %d %s", res.status, res.body)
		}
		tb = trashBody{}
		alice.do("GET", "/api/files/trash", nil, nil).json(t, &tb)
		if res := alice.do("POST", "/api/files/trash/restore", map[string]string{"id": tb.Items[0].ID}, nil); res.status != 507 || res.errCode() != "limit_reached" {
			t.Fatalf("restore over the quota: %d %s", res.status, res.body)
		}
		// A professor restores a student's item by naming the student (once
		// there is room: the big content of fill.txt goes to its history).
		alice.put("Local/alice/fill.txt", "small")
		if res := prof.do("POST", "/api/files/trash/restore", map[string]string{"id": tb.Items[0].ID, "user": "alice"}, nil); res.status != 200 || !strings.Contains(string(res.body), "Local/alice/big.txt") {
			t.Fatalf("professor restores: %d %s", res.status, res.body)
		}

		// The history and trash folders are outside the workspace: no listing
		// shows them.
		if res := prof.do("GET", "/api/files?path=", nil, nil); strings.Contains(string(res.body), "history") || strings.Contains(string(res.body), "trash") {
			t.Fatalf("the root lists %s", res.body)
		}
		for _, u := range []string{"/api/files/history?path=x", "/api/files/history/content?path=x&version=y", "/api/files/trash"} {
			if res := r.anon().do("GET", u, nil, nil); res.status != 401 {
				t.Fatalf("anonymous %s: %d", u, res.status)
			}
		}
		for _, u := range []string{"/api/files/history/restore", "/api/files/trash/restore"} {
			if res := r.anon().do("POST", u, map[string]string{}, nil); res.status != 401 {
				t.Fatalf("anonymous %s: %d", u, res.status)
			}
		}
	})
}

// Without a history or trash folder the routes say so (400), and deletes
// are final.
func TestHistoryAndTrashRoutesWhenOff(t *testing.T) {
	_, _, alice, _ := classroom(t, storetest.SQLite(t))
	alice.put("Local/alice/a.py", "1")
	alice.put("Local/alice/a.py", "2")
	for _, u := range []string{"/api/files/history?path=" + qp("Local/alice/a.py"), "/api/files/trash"} {
		if res := alice.do("GET", u, nil, nil); res.status != 400 || res.errCode() != "bad_request" {
			t.Fatalf("%s: %d %s", u, res.status, res.body)
		}
	}
}
