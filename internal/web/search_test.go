package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/workspace"
)

func searchURL(path, q string) string {
	return "/api/files/search?path=" + qp(path) + "&q=" + qp(q)
}

func TestSearchFilesRoute(t *testing.T) {
	r, prof, alice, _ := classroom(t, storetest.SQLite(t))
	if res := alice.put("Local/alice/hw1.py", "# my Answer\nanswer = 1\n"); res.status != 200 {
		t.Fatalf("alice saves: %d %s", res.status, res.body)
	}
	// A link a program planted in alice's home, to bob's: not followed.
	if err := os.Symlink("../bob", filepath.Join(r.data, "ide", "Local", "alice", "tobob")); err != nil {
		t.Fatal(err)
	}

	res := alice.do("GET", searchURL("Local/alice", "ANSWER"), nil, nil)
	var got workspace.SearchResult
	res.json(t, &got)
	if res.status != 200 || got.Query != "ANSWER" || got.Path != "Local/alice" || got.Truncated || got.FilesSearched != 2 || len(got.Matches) != 2 {
		t.Fatalf("alice searches her home: %d %s", res.status, res.body)
	}
	if m := got.Matches[0]; m != (workspace.SearchMatch{Path: "Local/alice/hw1.py", Type: "line", Line: 1, Column: 6, Text: "# my Answer"}) {
		t.Fatalf("first match: %+v", m)
	}
	if !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", res.header.Get("Content-Type"))
	}
	if strings.Contains(string(res.body), "42") || strings.Contains(string(res.body), "bob") {
		t.Fatalf("the search went through the link: %s", res.body)
	}

	// Course material is searchable by students.
	if res := alice.do("GET", searchURL("Lecture Notes", "week"), nil, nil); res.status != 200 || !strings.Contains(string(res.body), `"type":"name"`) {
		t.Fatalf("alice searches the course: %d %s", res.status, res.body)
	}

	// Another student's home is "not found", exactly as listing it is.
	for _, p := range []string{"Local/bob", "Local/bob/secret.py", "Local/alice/../bob", "Local/alice/tobob"} {
		res := alice.do("GET", searchURL(p, "answer"), nil, nil)
		if res.status < 400 || res.status == 401 || res.errCode() == "" || strings.Contains(string(res.body), "42") {
			t.Fatalf("alice searches %q: %d %s", p, res.status, res.body)
		}
	}
	list := alice.do("GET", "/api/files?path="+qp("Local/bob"), nil, nil)
	search := alice.do("GET", searchURL("Local/bob", "answer"), nil, nil)
	if search.status != 404 || search.errCode() != "not_found" || string(search.body) != string(list.body) {
		t.Fatalf("alice searches bob's home: %d %s (listing it: %d %s)", search.status, search.body, list.status, list.body)
	}

	// The root and Local are refused to a student; bad queries are refused.
	for _, u := range []string{searchURL("", "answer"), searchURL("Local", "answer"), searchURL("Local/alice", ""),
		searchURL("Local/alice", "   "), searchURL("Local/alice", strings.Repeat("a", 201)), "/api/files/search?path=Local/alice"} {
		if res := alice.do("GET", u, nil, nil); res.status != 400 || res.errCode() != "bad_request" {
			t.Errorf("alice GET %s: %d %s", u, res.status, res.body)
		}
	}

	// The professor searches a student's home, and everything.
	res = prof.do("GET", searchURL("Local/bob", "answer"), nil, nil)
	got = workspace.SearchResult{}
	res.json(t, &got)
	if res.status != 200 || len(got.Matches) != 1 || got.Matches[0] != (workspace.SearchMatch{Path: "Local/bob/secret.py", Type: "line", Line: 1, Column: 1, Text: "answer = 42"}) {
		t.Fatalf("professor searches bob's home: %d %s", res.status, res.body)
	}
	res = prof.do("GET", searchURL("", "answer"), nil, nil)
	got = workspace.SearchResult{}
	res.json(t, &got)
	if res.status != 200 || len(got.Matches) != 3 || got.Matches[2].Path != "Local/bob/secret.py" {
		t.Fatalf("professor searches the root: %d %s", res.status, res.body)
	}

	// Without a session: 401.
	if res := r.anon().do("GET", searchURL("Local/alice", "answer"), nil, nil); res.status != 401 || res.errCode() != "unauthorized" {
		t.Fatalf("anonymous search: %d %s", res.status, res.body)
	}
}
