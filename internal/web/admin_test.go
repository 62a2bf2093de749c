package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

func TestAdminRoutesAreForProfessorsOnly(t *testing.T) {
	_, _, alice, _ := classroom(t, storetest.SQLite(t))
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/admin/users"}, {"POST", "/api/admin/users"}, {"PATCH", "/api/admin/users/bob"},
		{"POST", "/api/admin/users/import"}, {"POST", "/api/admin/users/bob/password"},
		{"GET", "/api/admin/sessions"}, {"POST", "/api/admin/distribute"},
	} {
		if res := alice.do(rt.method, rt.path, map[string]string{"password": "hijacked1"}, nil); res.status != 403 || res.errCode() != "forbidden" {
			t.Errorf("student %s %s: %d %s", rt.method, rt.path, res.status, res.body)
		}
	}
}

func TestProfessorManagesTheClass(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r, prof, alice, _ := classroom(t, st)

		// Create with a generated password, which is returned once.
		res := prof.do("POST", "/api/admin/users", map[string]string{"username": "carol", "role": "student", "full_name": "Carol C"}, nil)
		var created struct{ Username, Role, Password, FullName string }
		res.json(t, &created)
		if res.status != 201 || created.Password == "" || created.Role != "student" {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		if _, err := os.Stat(filepath.Join(r.data, "ide", "Local", "carol", "welcome.py")); err != nil {
			t.Fatalf("home with welcome.py not created: %v", err)
		}
		carol := r.anon()
		if res := carol.do("POST", "/api/login", map[string]string{"username": "carol", "password": created.Password}, nil); res.status != 200 {
			t.Fatalf("carol logs in with the generated password: %d", res.status)
		}
		for _, bad := range []map[string]string{
			{"username": "carol", "password": "another1"},
			{"username": "../etc", "password": "another1"},
			{"username": "dave", "password": "x"},
			{"username": "dave", "password": "another1", "role": "admin"},
		} {
			if res := prof.do("POST", "/api/admin/users", bad, nil); res.status < 400 || res.errCode() == "" {
				t.Errorf("bad create %v: %d %s", bad, res.status, res.body)
			}
		}

		// CSV roster: new users, an existing one skipped, a bad line reported, a Python bcrypt hash kept.
		csv := "username,password,full_name,role\n" +
			"dave,davepass1,Dave D,student\n" +
			"alice,whatever1,Alice,student\n" +
			"bad/name,x12345,Bad,student\n" +
			"erin,,Erin E,professor\n" +
			"frank,franks-pw,\"Frank, Jr.\",\n"
		res = prof.do("POST", "/api/admin/users/import", csv, map[string]string{"Content-Type": "text/csv"})
		var imp struct {
			Created, Skipped, Failed int
			Rows                     []struct {
				Line                                int
				Username, Status, Message, Password string
			}
		}
		res.json(t, &imp)
		if res.status != 200 || imp.Created != 3 || imp.Skipped != 1 || imp.Failed != 1 {
			t.Fatalf("import: %d %s", res.status, res.body)
		}
		for _, row := range imp.Rows {
			if row.Username == "erin" && row.Password == "" {
				t.Error("generated password for erin not reported")
			}
			if row.Status == "failed" && (row.Line != 4 || row.Message == "") {
				t.Errorf("failed row: %+v", row)
			}
		}
		if u, err := st.GetUser(t.Context(), "frank"); err != nil || u.FullName != "Frank, Jr." || u.Role != store.RoleStudent {
			t.Fatalf("frank: %+v %v", u, err)
		}
		if res := r.anon().do("POST", "/api/login", map[string]string{"username": "dave", "password": "davepass1"}, nil); res.status != 200 {
			t.Fatalf("imported user logs in: %d", res.status)
		}

		// Reset a password: the old one stops working, her session ends.
		if res := prof.do("POST", "/api/admin/users/alice/password", map[string]string{"password": "brand-new-pw"}, nil); res.status != 204 {
			t.Fatalf("reset: %d %s", res.status, res.body)
		}
		if res := alice.do("GET", "/api/me", nil, nil); res.status != 401 {
			t.Fatalf("alice's session survived a password reset: %d", res.status)
		}
		if res := prof.do("POST", "/api/admin/users/nobody/password", map[string]string{"password": "brand-new-pw"}, nil); res.status != 404 {
			t.Fatalf("reset unknown: %d", res.status)
		}

		// Deactivate: login refused with a clear message.
		if res := prof.do("PATCH", "/api/admin/users/dave", map[string]any{"active": false}, nil); res.status != 200 {
			t.Fatalf("deactivate: %d %s", res.status, res.body)
		}
		res = r.anon().do("POST", "/api/login", map[string]string{"username": "dave", "password": "davepass1"}, nil)
		if res.status != 401 || !strings.Contains(string(res.body), "deactivated") {
			t.Fatalf("deactivated login: %d %s", res.status, res.body)
		}
		if res := prof.do("PATCH", "/api/admin/users/prof", map[string]any{"active": false}, nil); res.status != 400 {
			t.Fatalf("prof deactivating self: %d", res.status)
		}

		// The user list and the session table.
		var users struct{ Users []adminUserView }
		prof.do("GET", "/api/admin/users", nil, nil).json(t, &users)
		if len(users.Users) != 7 {
			t.Fatalf("users: %+v", users.Users)
		}
		var sessions struct{ Sessions []sessionView }
		res = prof.do("GET", "/api/admin/sessions", nil, nil)
		res.json(t, &sessions)
		if res.status != 200 || len(sessions.Sessions) < 2 || strings.Contains(string(res.body), "token") {
			t.Fatalf("sessions: %d %s", res.status, res.body)
		}
	})
}

func TestDistribute(t *testing.T) {
	r, prof, alice, _ := classroom(t, storetest.SQLite(t))
	prof.do("POST", "/api/files/mkdir", map[string]string{"path": "Lecture Notes/hw2"}, nil)
	prof.put("Lecture Notes/hw2/task.py", "# task\n")
	alice.do("POST", "/api/files/mkdir", map[string]string{"path": "Local/alice/homework"}, nil)
	alice.do("POST", "/api/files/mkdir", map[string]string{"path": "Local/alice/homework/hw2"}, nil)
	alice.put("Local/alice/homework/hw2/task.py", "# my answer\n")

	res := prof.do("POST", "/api/admin/distribute", map[string]any{"source": "Lecture Notes/hw2", "target": "homework", "users": "all"}, nil)
	if res.status != 200 {
		t.Fatalf("distribute: %d %s", res.status, res.body)
	}
	b, err := os.ReadFile(filepath.Join(r.data, "ide", "Local", "bob", "homework", "hw2", "task.py"))
	if err != nil || string(b) != "# task\n" {
		t.Fatalf("bob did not get the homework: %q %v (%s)", b, err, res.body)
	}
	// Alice's own work is never overwritten.
	if got := alice.get("Local/alice/homework/hw2/task.py"); string(got.body) != "# my answer\n" {
		t.Fatalf("distribute overwrote alice's work: %q", got.body)
	}
	if _, err := os.Stat(filepath.Join(r.data, "ide", "Local", "prof")); err == nil {
		if _, err := os.Stat(filepath.Join(r.data, "ide", "Local", "prof", "homework")); err == nil {
			t.Error("distribute to all reached the professor's home")
		}
	}
	if res := prof.do("POST", "/api/admin/distribute", map[string]any{"source": "Lecture Notes/hw2", "target": "x", "users": 5}, nil); res.status != 400 {
		t.Fatalf("bad users: %d", res.status)
	}
}
