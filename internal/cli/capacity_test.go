package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestCapacityCommand(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), Env{Args: append([]string{"capacity", "--data", t.TempDir()}, args...),
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run()
	if code != 0 || !strings.Contains(out, "\n38 ") || !strings.Contains(out, "Assumptions") {
		t.Fatalf("default table: %d %s %s", code, out, errOut)
	}
	code, out, _ = run("--users", "12", "--json", "--max-processes", "20", "--runs-per-minute", "4")
	var v struct {
		Rows []struct {
			Users          int
			Cores          float64
			MemoryBytes    int64
			WorstCaseBytes int64
			Fargate        string
		} `json:"rows"`
		Assumptions struct{ RunsPerUserPerMinute float64 } `json:"assumptions"`
		Limits      struct{ MaxTotal int }                 `json:"limits"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Rows) != 1 || v.Rows[0].Users != 12 || v.Rows[0].Cores <= 0 ||
		v.Rows[0].Fargate == "" || v.Assumptions.RunsPerUserPerMinute != 4 || v.Limits.MaxTotal != 20 {
		t.Fatalf("json: %d %s", code, out)
	}
	// The worst case follows the configured limits: 20 processes at 50 MiB.
	if v.Rows[0].WorstCaseBytes < 20*50<<20 || v.Rows[0].WorstCaseBytes > 20*50<<20+200<<20 {
		t.Errorf("worst case %d", v.Rows[0].WorstCaseBytes)
	}
	for _, bad := range [][]string{{"--users", "0"}, {"--users", "x"}, {"--burst-share", "2"}, {"extra"}} {
		if code, _, _ := run(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
