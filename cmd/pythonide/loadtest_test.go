package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/loadtest"
)

// TestLoadtestSmoke runs the real load generator against the real server,
// both as separate processes: three students for ten seconds, through the
// teacher's API, then one more made directly in the data folder, then the
// two reports compared. Every operation must succeed and every student
// must receive exactly its own output. It is the smoke run of .ci/run.
func TestLoadtestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server and loads it for about 15 seconds")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	dir := t.TempDir() // private parents, as a newcomer's may be
	data := filepath.Join(dir, "data")
	t.Setenv("PYTHONIDE_CGROUP_NAME", fmt.Sprintf("pythonide-loadtest-%d", os.Getpid()))
	// The degradation gate watches the whole machine, which other test
	// packages share with this one: it would refuse runs for their load,
	// not the server's. This test is about the load generator and output
	// correctness; the gate has its own tests.
	t.Setenv("PYTHONIDE_DEGRADE_CPU_PERCENT", "0")
	t.Setenv("PYTHONIDE_DEGRADE_MEMORY_PERCENT", "0")
	add := command(t, data, "user", "add", "teacher", "--role", "professor", "--password-stdin")
	add.Stdin = strings.NewReader("teacher-pw-1\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)

	loadtestRun := func(name string, args ...string) *loadtest.Report {
		t.Helper()
		report := filepath.Join(dir, name+".json")
		args = append([]string{"loadtest", "--url", "http://" + addr, "--json", report, "--seed", "7"}, args...)
		out, err := command(t, data, args...).CombinedOutput()
		t.Logf("%s:\n%s", name, out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rep, err := loadtest.ReadReport(report)
		if err != nil {
			t.Fatal(err)
		}
		if rep.FailureCount != 0 || rep.Output.Anomalies() != 0 {
			t.Fatalf("%s: failures %v, output %+v", name, rep.Failures, rep.Output)
		}
		if rep.Output.Runs == 0 || rep.Output.Clean != rep.Output.Runs {
			t.Fatalf("%s: %d runs checked, %d clean", name, rep.Output.Runs, rep.Output.Clean)
		}
		if s := rep.Server; s == nil || s.PID != srv.Process.Pid || len(s.Samples) == 0 || s.RSSMax <= 0 {
			t.Fatalf("%s: the server (pid %d) was not watched: %+v", name, srv.Process.Pid, s)
		}
		return rep
	}

	// Every kind of action, the print flood included: a flooded browser
	// pulls from the process's bounded log at its own pace and must still
	// see its program end.
	class := loadtestRun("class", "--users", "3", "--duration", "10s", "--ramp", "1s", "--think", "300ms",
		"--mix", "list=4,open=4,save=20,run=6,reconnect=2,busy=1,memory=1,flood=1",
		"--admin-user", "teacher", "--admin-password", "teacher-pw-1")
	for _, op := range []loadtest.Op{loadtest.OpLogin, loadtest.OpSave, loadtest.OpFirstOutput} {
		if class.Ops[op].Count == 0 {
			t.Errorf("class: no %s measured", op)
		}
	}
	if class.Ops[loadtest.OpLogin].Count != 3 {
		t.Errorf("class: %d logins", class.Ops[loadtest.OpLogin].Count)
	}
	// Again, straight into the data folder, with the first student taken
	// over (its password reset) and a mix of runs that re-attach.
	loadtestRun("direct", "--users", "1", "--duration", "3s", "--ramp", "0s", "--think", "100ms", "--mix", "run=1,reconnect=1")

	out, err := command(t, data, "loadtest", "compare", filepath.Join(dir, "class.json"), filepath.Join(dir, "direct.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "first_output") || !strings.Contains(string(out), "A PASS, B PASS") {
		t.Fatalf("compare: %v\n%s", err, out)
	}
}
