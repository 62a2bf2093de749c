package workspace

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		name  string
		path  string
		ok    bool
		parts int
	}{
		{"root", "", true, 0},
		{"home", "Local/alice", true, 2},
		{"file in home", "Local/alice/hw1.py", true, 3},
		{"course with space", "Lecture Notes/week1.py", true, 2},
		{"unicode name", "Local/alice/café ü 日本.py", true, 3},
		{"dotfile", "Local/alice/.hidden", true, 3},
		{"three dots is a name", "Local/alice/...", true, 3},
		{"double-encoded dots stay a name", "Local/alice/%2e%2e", true, 3},
		{"percent name", "Local/alice/%252e%252e", true, 3},
		{"name of 255 bytes", "Local/alice/" + long, true, 3},
		{"inner space", "Local/alice/my file.py", true, 3},

		{"absolute", "/Local/alice", false, 0},
		{"just slash", "/", false, 0},
		{"dotdot", "Local/alice/../bob", false, 0},
		{"leading dotdot", "../etc/passwd", false, 0},
		{"only dotdot", "..", false, 0},
		{"dot", "Local/./alice", false, 0},
		{"only dot", ".", false, 0},
		{"empty component", "Local//bob", false, 0},
		{"trailing slash", "Local/bob/", false, 0},
		{"backslash", `Local\bob`, false, 0},
		{"backslash dotdot", `Local/alice/..\bob`, false, 0},
		{"NUL", "Local/alice/a\x00b", false, 0},
		{"NUL at end", "Local/alice/a.py\x00", false, 0},
		{"newline", "Local/alice/a\nb", false, 0},
		{"tab", "Local/alice/a\tb", false, 0},
		{"DEL", "Local/alice/a\x7fb", false, 0},
		{"C1 control", "Local/alice/a\u0085b", false, 0},
		{"invalid UTF-8", "Local/alice/\xff\xfe", false, 0},
		{"overlong UTF-8 slash", "Local/alice/\xc0\xaf", false, 0},
		{"name over 255 bytes", "Local/alice/" + long + "b", false, 0},
		{"path over 4096 bytes", strings.Repeat("abcdefg/", 513), false, 0},
		{"leading space", "Local/alice/ a.py", false, 0},
		{"trailing space", "Local/alice/a.py ", false, 0},
		{"trailing nbsp", "Local/alice/a.py\u00a0", false, 0},
		{"only space", "Local/alice/ ", false, 0},
		{"reserved temp name", "Local/alice/" + tempPrefix + "x", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := parsePath(tt.path)
			if tt.ok {
				if err != nil {
					t.Fatalf("parsePath(%q) = %v, want ok", tt.path, err)
				}
				if len(parts) != tt.parts {
					t.Fatalf("parsePath(%q) = %d parts, want %d", tt.path, len(parts), tt.parts)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsePath(%q) accepted, want bad_request", tt.path)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parsePath(%q) = %v, want bad_request", tt.path, err)
			}
			if strings.ContainsAny(message(err), "\x00\n") {
				t.Fatalf("message carries raw control characters: %q", message(err))
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		path               string
		kind               kind
		owner, course, rel string
	}{
		{"", kindRoot, "", "", "."},
		{"Local", kindLocal, "", "", "."},
		{"Local/alice", kindHome, "alice", "", "."},
		{"Local/alice/a/b.py", kindHome, "alice", "", "a/b.py"},
		{"Lecture Notes", kindCourse, "", "Lecture Notes", "."},
		{"Lecture Notes/w1.py", kindCourse, "", "Lecture Notes", "w1.py"},
		{"local/bob", kindCourse, "", "local", "bob"}, // case matters: not Local
	}
	for _, tt := range tests {
		l, err := classify(tt.path)
		if err != nil {
			t.Fatalf("classify(%q): %v", tt.path, err)
		}
		if l.kind != tt.kind || l.owner != tt.owner || l.course != tt.course || l.rel != tt.rel {
			t.Errorf("classify(%q) = %+v", tt.path, l)
		}
	}
}

func TestJoinName(t *testing.T) {
	if p, err := JoinName("Local/alice", "up.py"); err != nil || p != "Local/alice/up.py" {
		t.Fatalf("JoinName = %q, %v", p, err)
	}
	for _, bad := range []string{"../x", "a/b", "", "..", `a\b`} {
		if _, err := JoinName("Local/alice", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("JoinName(%q) = %v, want bad_request", bad, err)
		}
	}
}
