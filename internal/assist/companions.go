package assist

import (
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/pythonide/pythonide/internal/workspace"
)

// A shared completer sees no home; it is sent the modules a source imports
// from its own folder instead (at most this many, each and all together at
// most so large), so a student beyond the home completers still completes
// their own functions.
const (
	maxCompanions      = 8
	maxCompanionBytes  = 64 << 10
	maxCompanionsBytes = 256 << 10
	// maxImportsLooked bounds the names looked for in the folder (most
	// imports are the system's, found by no file there).
	maxImportsLooked = 32
)

// importLine finds `import a, b.c as d` and `from a import …` at the start
// of a line; relative imports (`from . import`) are not followed.
var importLine = regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t.]|import[ \t]+([A-Za-z_][A-Za-z0-9_ \t,.]*))`)

var moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// companions are the modules source (the file at workspace path p) imports
// that are files beside it (<name>.py in p's folder), read as a reads them:
// name → text. What a may not read, what is too large, and what is beyond
// the bounds is left out.
func (s *Service) companions(a workspace.Actor, p, source string) map[string]string {
	dir, self := path.Dir(p), strings.TrimSuffix(path.Base(p), ".py")
	var names []string
	seen := map[string]bool{self: true}
	for _, m := range importLine.FindAllStringSubmatch(source, -1) {
		list := []string{m[1]}
		if m[1] == "" {
			list = strings.Split(m[2], ",")
		}
		for _, item := range list {
			name, _, _ := strings.Cut(strings.TrimSpace(item), ".")
			name, _, _ = strings.Cut(name, " ")
			if moduleName.MatchString(name) && !seen[name] && len(names) < maxImportsLooked {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	out := map[string]string{}
	total := 0
	for _, name := range names {
		if len(out) == maxCompanions {
			break
		}
		f, info, err := s.ws.Read(a, dir+"/"+name+".py")
		if err != nil {
			continue // not a file of the folder (a system module), or not a's to read
		}
		if info.Size > maxCompanionBytes || total+int(info.Size) > maxCompanionsBytes {
			f.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, maxCompanionBytes+1))
		f.Close()
		if err != nil || len(b) > maxCompanionBytes {
			continue
		}
		total += len(b)
		out[name] = string(b)
	}
	return out
}
