package web

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/assist"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// newAssistRig is a run rig whose server also has the editor's assistance,
// on a sandbox of its own (every layer this machine has).
func newAssistRig(t *testing.T) *rig {
	t.Helper()
	r := newRunRig(t, func(c *config.Config) { c.MaxJSONBytes = 1 << 20 })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb, err := sandbox.Probe(context.Background(), sandbox.Config{
		CgroupName: "pythonide-webassist-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(cgroupSeq.Add(1), 10),
	}, log)
	if err != nil {
		t.Skipf("no confinement layer on this machine: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	svc := assist.New(context.Background(), sb, r.ws, assist.Options{DriverDir: filepath.Join(r.data, "runtime", "driver"), Checkers: 1, Completers: 2}, log)
	t.Cleanup(func() { svc.Close() })
	r.server.assist = svc
	return r
}

func TestAssistRoutes(t *testing.T) {
	r := newAssistRig(t)
	r.user("alice", store.RoleStudent)
	r.user("bob", store.RoleStudent)
	r.user("prof", store.RoleProfessor)
	alice, bob, prof := r.login("alice"), r.login("bob"), r.login("prof")

	// Authenticated, and the origin check applies as to every POST.
	for _, p := range []string{"/api/assist/check", "/api/assist/complete"} {
		if res := r.anon().do("POST", p, map[string]any{"path": "Local/alice/a.py", "source": "x"}, nil); res.status != 401 {
			t.Errorf("%s without a session: %d", p, res.status)
		}
		if res := alice.do("POST", p, map[string]any{"path": "Local/alice/a.py", "source": "x", "line": 1, "column": 2},
			map[string]string{"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"}); res.status != 403 {
			t.Errorf("%s from another site: %d", p, res.status)
		}
	}

	var chk struct {
		OK    bool `json:"ok"`
		Error *struct {
			Line      int    `json:"line"`
			Column    int    `json:"column"`
			EndLine   int    `json:"end_line"`
			EndColumn int    `json:"end_column"`
			Message   string `json:"message"`
		} `json:"error"`
		Skipped bool   `json:"skipped"`
		Message string `json:"message"`
	}
	res := alice.do("POST", "/api/assist/check", map[string]any{"path": "Local/alice/hw.py", "source": "print(\"hi\"\nfor i in range(3):\n    print(i)\n"}, nil)
	if res.status != 200 {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
	res.json(t, &chk)
	if chk.OK || chk.Error == nil || chk.Error.Line != 1 || chk.Error.Column != 6 || chk.Error.EndLine != 1 || chk.Error.EndColumn != 7 ||
		chk.Error.Message != "'(' was never closed" {
		t.Fatalf("check: %s", res.body)
	}
	res = alice.do("POST", "/api/assist/check", map[string]any{"path": "Local/alice/hw.py", "source": "print(\"hi\")\n"}, nil)
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"ok":true}` {
		t.Fatalf("valid code: %d %s", res.status, res.body)
	}
	big := strings.Repeat("x = 1\n", 300<<10/6)
	for _, p := range []string{"/api/assist/check", "/api/assist/complete"} {
		if res := alice.do("POST", p, map[string]any{"path": "Local/alice/hw.py", "source": big, "line": 1, "column": 1}, nil); res.status != 413 || res.errCode() != "too_large" {
			t.Errorf("%s of 300 KiB: %d %s", p, res.status, res.body)
		}
	}

	if !r.server.assist.Available() {
		if os.Getenv("CI") != "" {
			t.Fatal("jedi is not available, and CI installs python3-jedi")
		}
		t.Skip("python3-jedi is not installed (CI installs it)")
	}
	type completions struct {
		Available   bool   `json:"available"`
		Skipped     bool   `json:"skipped"`
		Message     string `json:"message"`
		Completions []struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			Signature string `json:"signature"`
			Doc       string `json:"doc"`
		} `json:"completions"`
		Signatures []struct {
			Name   string   `json:"name"`
			Params []string `json:"params"`
			Index  *int     `json:"index"`
		} `json:"signatures"`
	}
	complete := func(c *client, path, source string) (completions, []string) {
		t.Helper()
		lines := strings.Split(source, "\n")
		var out completions
		// A completer that is still starting (jedi's import; seconds on a
		// loaded machine) answers "busy" after 2 s, as the editor would be
		// told at a keystroke: ask again, as the next keystroke would.
		for try := 0; ; try++ {
			res := c.do("POST", "/api/assist/complete", map[string]any{"path": path, "source": source, "line": len(lines), "column": len(lines[len(lines)-1]) + 1}, nil)
			if res.status != 200 {
				t.Fatalf("complete %q on %s: %d %s", source, path, res.status, res.body)
			}
			out = completions{}
			res.json(t, &out)
			if !out.Skipped || !strings.Contains(out.Message, "busy") || try == 10 {
				break
			}
			t.Logf("complete %q skipped (%s): again", source, out.Message)
		}
		var names []string
		for _, c := range out.Completions {
			names = append(names, c.Name)
		}
		return out, names
	}
	out, names := complete(alice, "Local/alice/main.py", "import math\nmath.")
	if !out.Available || !slices.Contains(names, "sqrt") {
		t.Fatalf("math.: %v", names)
	}
	out, _ = complete(alice, "Local/alice/main.py", "print(")
	if len(out.Signatures) == 0 || out.Signatures[0].Name != "print" || out.Signatures[0].Index == nil {
		t.Fatalf("print(: %+v", out.Signatures)
	}
	if res := alice.do("PUT", "/api/files/content?path=Local/alice/helpers.py", "def greet(name):\n    return name\n", nil); res.status != 200 && res.status != 201 {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	if _, names = complete(alice, "Local/alice/main.py", "from helpers import "); !slices.Contains(names, "greet") {
		t.Fatalf("from helpers import: %v", names)
	}
	// Bob finds nothing of alice's, and may not ask on her file.
	if _, names = complete(bob, "Local/bob/main.py", "from helpers import "); slices.Contains(names, "greet") {
		t.Fatalf("bob completes alice's module: %v", names)
	}
	if res := bob.do("POST", "/api/assist/complete", map[string]any{"path": "Local/alice/main.py", "source": "import ", "line": 1, "column": 8}, nil); res.status != 404 {
		t.Fatalf("bob on alice's file: %d %s", res.status, res.body)
	}
	// The teacher, on alice's file, sees her home.
	if _, names = complete(prof, "Local/alice/main.py", "from helpers import "); !slices.Contains(names, "greet") {
		t.Fatalf("the teacher on alice's file: %v", names)
	}
	if res := alice.do("POST", "/api/assist/complete", map[string]any{"path": "Local/alice/main.py", "source": "x", "line": 0, "column": 1}, nil); res.status != 400 {
		t.Fatalf("line 0: %d %s", res.status, res.body)
	}
}

// A server without the assistance still answers: checks skipped,
// completions not available.
func TestAssistRoutesWithoutTheService(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), nil)
	r.user("alice", store.RoleStudent)
	alice := r.login("alice")
	res := alice.do("POST", "/api/assist/complete", map[string]any{"path": "Local/alice/a.py", "source": "import math\nmath.", "line": 2, "column": 6}, nil)
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"available":false,"completions":[],"signatures":[]}` {
		t.Fatalf("complete: %d %s", res.status, res.body)
	}
	res = alice.do("POST", "/api/assist/check", map[string]any{"path": "Local/alice/a.py", "source": "x = ("}, nil)
	if res.status != 200 || !strings.Contains(string(res.body), `"skipped":true`) {
		t.Fatalf("check: %d %s", res.status, res.body)
	}
}
