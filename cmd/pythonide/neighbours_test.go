package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two servers on one host, started with the same --cgroup-name (the
// default, as two operators' servers would be): neither reaps the other's
// programs at start, and one's shutdown leaves the other's cgroups alone,
// so its students keep running programs.
func TestTwoServersOnOneHost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	t.Setenv("PYTHONIDE_CGROUP_NAME", fmt.Sprintf("pythonide-neighbours-%d", os.Getpid()))
	dataA, dataB := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "data")
	addUser(t, dataA, "alice", "alice-pw-1")
	addUser(t, dataB, "bob", "bob-pw-1")
	addrA, addrB := freeAddr(t), freeAddr(t)
	startServer(t, dataA, addrA)
	alice := login(t, addrA, "alice", "alice-pw-1")

	unique := fmt.Sprintf("neighbour_%d_%d", os.Getpid(), time.Now().UnixNano())
	path := "Local/alice/" + unique + ".py"
	save(t, alice, addrA, path, "print('up', flush=True)\nimport time\ntime.sleep(600)\n")
	ws := dialWS(t, alice, addrA)
	ws.send(t, map[string]any{"type": "run", "id": "long", "path": path})
	if out, _ := ws.until(t, "long", "stdout"); !strings.HasPrefix("up\n", out) {
		t.Fatalf("alice's program printed %q", out)
	}
	procs := processesOf(t, homeOf(dataA, "alice"))
	if len(procs) == 0 {
		t.Fatalf("no host process runs %s", unique)
	}

	// B starts beside it (and reaps what dead servers left), runs a program
	// of its own, and shuts down.
	srvB := startServer(t, dataB, addrB)
	bob := login(t, addrB, "bob", "bob-pw-1")
	save(t, bob, addrB, "Local/bob/hi.py", "print('bob here')\n")
	if out := runPrints(t, bob, addrB, "Local/bob/hi.py", "b"); out != "bob here\n" {
		t.Errorf("bob's program on B printed %q", out)
	}
	if left := alive(procs); len(left) != len(procs) {
		t.Fatalf("B's start-up reaped alice's program on A: alive %v of %v", left, procs)
	}
	if err := srvB.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	srvB.Wait()

	if left := alive(procs); len(left) != len(procs) {
		t.Fatalf("B's shutdown ended alice's program on A: alive %v of %v", left, procs)
	}
	save(t, alice, addrA, "Local/alice/after.py", "print('still here')\n")
	if out := runPrints(t, alice, addrA, "Local/alice/after.py", "after"); out != "still here\n" {
		t.Errorf("a run on A after B's shutdown printed %q", out)
	}
	h := health(t, addrA)
	var body struct {
		Sandbox struct {
			Lost            string            `json:"lost"`
			CgroupRecreated int               `json:"cgroup_recreated"`
			SelfTest        struct{ OK bool } `json:"self_test"`
			CPU             string            `json:"cpu"`
		} `json:"sandbox"`
	}
	json.Unmarshal([]byte(h.raw), &body)
	if body.Sandbox.CPU != "v1" && body.Sandbox.CPU != "v2" && body.Sandbox.CPU != "nice" {
		t.Errorf("/health does not say how the CPU is shared: %s", h.raw)
	}
	if body.Sandbox.Lost != "" || body.Sandbox.CgroupRecreated != 0 || !body.Sandbox.SelfTest.OK || h.has("sandbox") {
		t.Errorf("A's /health after its neighbour's shutdown: %s", h.raw)
	}
	ws.send(t, map[string]any{"type": "stop", "id": "long"})
	if _, m := ws.until(t, "long", "exit"); !strings.Contains(fmt.Sprint(m["reason"]), "stopped") {
		t.Errorf("alice's program ended %v", m)
	}
}
