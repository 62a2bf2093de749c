package deploy

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, …
	args string
	line int
}

// parseDockerfile is a small parser: comments and blank lines dropped, lines
// ending in a backslash joined. No Docker engine or hadolint on the build
// machine, so this is as far as the file can be checked here.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		more := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\"))
		cur.WriteString(" ")
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends inside a continued line", path)
	}
	return out
}

// execForm parses an instruction's JSON (exec) form.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s is not in exec (JSON) form: %v", in.line, in.cmd, in.args, err)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	path := filepath.Join("..", "Dockerfile")
	ins := parseDockerfile(t, path)
	var stages []instruction
	last := map[string]instruction{} // last of each kind in the final stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, in)
			last = map[string]instruction{}
		}
		last[in.cmd] = in
	}

	t.Run("multi-stage", func(t *testing.T) {
		if len(stages) != 2 {
			t.Fatalf("want a build stage and a runtime stage, got %d FROM lines", len(stages))
		}
		build := strings.Fields(stages[0].args)
		if len(build) != 3 || build[0] != "golang:1.26-bookworm" || !strings.EqualFold(build[1], "AS") {
			t.Errorf("build stage: FROM %s, want golang:1.26-bookworm AS <name>", stages[0].args)
		} else if !slices.ContainsFunc(ins, func(in instruction) bool {
			return in.cmd == "COPY" && strings.HasPrefix(in.args, "--from="+build[2]+" ")
		}) {
			t.Errorf("nothing is copied from the build stage %q", build[2])
		}
		if stages[1].args != "debian:bookworm-slim" {
			t.Errorf("runtime stage: FROM %s, want debian:bookworm-slim", stages[1].args)
		}
		// The builder's Go must be the one go.mod asks for, or the build
		// downloads another toolchain (or fails without network).
		mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod); m == nil || string(m[1]) != "1.26" {
			t.Errorf("go.mod asks for go %s; the image is golang:1.26", m)
		}
	})

	t.Run("static build", func(t *testing.T) {
		var build string
		for _, in := range ins {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				build = in.args
			}
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/pythonide"} {
			if !strings.Contains(build, want) {
				t.Errorf("go build line %q lacks %s", build, want)
			}
		}
	})

	t.Run("packages", func(t *testing.T) {
		var apt string
		for _, in := range ins[slices.Index(ins, stages[len(stages)-1]):] {
			if in.cmd == "RUN" && strings.Contains(in.args, "apt-get install") {
				apt = in.args
			}
		}
		words := strings.Fields(apt)
		for _, want := range []string{"--no-install-recommends", "tini", "python3", "python3-numpy", "python3-pandas", "python3-matplotlib", "bubblewrap", "ca-certificates"} {
			if !slices.Contains(words, want) {
				t.Errorf("runtime apt-get install lacks %s: %q", want, apt)
			}
		}
		if !strings.Contains(apt, "apt-get update") || !strings.Contains(apt, "rm -rf /var/lib/apt/lists/*") {
			t.Errorf("update, install and list removal must be one layer: %q", apt)
		}
	})

	var cmd []string
	t.Run("entrypoint and command", func(t *testing.T) {
		ep := execForm(t, last["ENTRYPOINT"])
		if want := []string{"tini", "--", "/usr/local/bin/pythonide"}; !slices.Equal(ep, want) {
			t.Errorf("ENTRYPOINT %q, want %q", ep, want)
		}
		if c := last["COPY"]; !strings.HasSuffix(c.args, " /usr/local/bin/pythonide") {
			t.Errorf("the binary is not copied to /usr/local/bin/pythonide: COPY %s", c.args)
		}
		if u, ok := last["USER"]; ok {
			t.Errorf("USER %s: the server needs root in the container to drop programs to the sandbox uid", u.args)
		}
		cmd = execForm(t, last["CMD"])
		c := serveConfig(t, "Dockerfile CMD", cmd, nil)
		host, port, _ := net.SplitHostPort(c.Listen)
		if host != "0.0.0.0" {
			t.Errorf("--listen %s: in a container the server must listen on every interface", c.Listen)
		}
		if exp := strings.Fields(last["EXPOSE"].args); !slices.Equal(exp, []string{port}) && !slices.Equal(exp, []string{port + "/tcp"}) {
			t.Errorf("EXPOSE %s, the server listens on %s", last["EXPOSE"].args, c.Listen)
		}
		vol := last["VOLUME"].args
		if vol != c.DataDir && vol != `["`+c.DataDir+`"]` {
			t.Errorf("VOLUME %s, but --data is %s", vol, c.DataDir)
		}
		hc := last["HEALTHCHECK"]
		_, probe, ok := strings.Cut(hc.args, "CMD ")
		if !ok {
			t.Fatalf("HEALTHCHECK %s has no CMD", hc.args)
		}
		checkHealthURL(t, "Dockerfile HEALTHCHECK", healthURLIn(t, "HEALTHCHECK", execForm(t, instruction{cmd: "CMD", args: probe, line: hc.line})), c.Listen)
		if hcCmd := execForm(t, instruction{cmd: "CMD", args: probe, line: hc.line}); hcCmd[0] != "python3" {
			t.Errorf("health check runs %s: the image has python3, not curl or wget", hcCmd[0])
		}
	})

	t.Run("dockerignore", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
		if err != nil {
			t.Fatal(err)
		}
		ignored := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				ignored[strings.Trim(l, "/")] = true
			}
		}
		for _, want := range []string{".git", "ui", "data"} {
			if !ignored[want] {
				t.Errorf(".dockerignore does not leave out %s", want)
			}
		}
		// Everything the build copies must reach it.
		for _, in := range ins {
			if in.cmd != "COPY" || strings.HasPrefix(in.args, "--from=") {
				continue
			}
			f := strings.Fields(in.args)
			for _, src := range f[:len(f)-1] {
				if ignored[strings.Trim(src, "./")] {
					t.Errorf("COPY %s, but .dockerignore leaves %s out", in.args, src)
				}
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("COPY %s: %v", in.args, err)
				}
			}
		}
	})
}
