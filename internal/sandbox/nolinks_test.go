package sandbox

import (
	"strings"
	"testing"
)

// With NoLinks a program cannot make a symbolic link in its home (an
// exam's folder, which the server's file API must find free of links), in
// either file mode; without, it can, and everything else still works.
func TestExamNoLinks(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			s := newSandbox(t, m.cfg)
			w := newWorld(t, s)
			code := `import os
open("f.txt", "w").write("x")
os.mkdir("d")
try:
    os.symlink("..", "up")
    print("linked")
except OSError as e:
    print("refused", type(e).__name__)
try:
    os.symlink("f.txt", "d/f")
    print("linked")
except OSError as e:
    print("refused", type(e).__name__)
os.rename("f.txt", "d/g.txt")
print("renamed")
`
			spec := w.spec("nolinks", w.script(t, "links.py", code))
			spec.NoLinks = true
			if _, out := run(t, s, spec); strings.Count(out, "refused") != 2 || !strings.Contains(out, "renamed") {
				t.Fatalf("with NoLinks: %q", out)
			}
			w2 := newWorld(t, s)
			if _, out := run(t, s, w2.spec("links", w2.script(t, "links.py", code))); strings.Count(out, "linked") != 2 {
				t.Fatalf("without NoLinks: %q", out)
			}
		})
	}
}
