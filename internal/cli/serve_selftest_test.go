package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A newcomer's data folder under a private folder (mktemp -d, a clone under
// root's home): serve starts and its self-test has run a program there.
func TestServeOnPrivateDataFolderRunsPrograms(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	if _, err := os.Stat("/usr/bin/bwrap"); err != nil && os.Geteuid() == 0 {
		t.Skip("bubblewrap is not installed: without it a root server needs a data folder the sandbox uid can reach (docs/security.md)")
	}
	parent := t.TempDir()
	if fi, _ := os.Stat(filepath.Dir(parent)); fi.Mode().Perm() != 0o700 {
		t.Fatalf("t.TempDir's parent is %v, want private as mktemp -d makes it", fi.Mode())
	}
	_, log := startServe(t, "--data", filepath.Join(parent, "data"))
	if !strings.Contains(log.String(), "start-up self-test: a confined program ran and answered") {
		t.Errorf("no self-test in the log:\n%s", log)
	}
}

// Where no program could run (Landlock alone stages nothing, and the
// sandbox uid cannot reach a private data folder), serve refuses to start
// and says what to change, instead of failing every student's run.
func TestServeRefusesWhenProgramsCannotRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only the uid drop leaves the data folder out of the programs' reach")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	data := filepath.Join(t.TempDir(), "data")
	var stderr bytes.Buffer
	code := Run(context.Background(), Env{
		Args:  []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--no-namespaces", "--cgroup-name", "pythonide-clitest-refuse"},
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" },
	})
	if code == 0 {
		t.Fatalf("serve started on a data folder its programs cannot reach:\n%s", stderr.String())
	}
	t.Logf("serve said:\n%s", stderr.String())
	for _, want := range []string{"students' programs cannot run", "uid 65534", "chmod o+x", data} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, stderr.String())
		}
	}
}
