package web

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/protocol"
)

// Every student's program runs as the one sandbox uid. Through the real
// server: bob's running program and the warm interpreter waiting for his
// next run survive alice's kill(-1), a kill of every pid there is and
// ptrace, and bob's program goes on as if nothing happened.
func TestOneStudentCannotReachAnothersPrograms(t *testing.T) {
	r, _, alice, bob := newClassRunRig(t, nil)
	if !r.runner.Layers().Namespaces {
		t.Skipf("no pid namespace here (layers %s): TestProgramsCannotReachEachOther in internal/sandbox covers Landlock's signal scoping", r.runner.Layers())
	}
	bw := bob.ws()
	bob.runSource(bw, "victim", "victim.py", "name = input('name? ')\nprint('hello', name)\n")
	bw.until("victim", protocol.MsgInputRequest, wait)
	bobHome := r.ws.HomePath("bob")
	// His program and the warm interpreter prepared after it took his first.
	var bobs []procKey
	if !eventually(wait, func() bool { bobs = interpreters(bobHome); return len(bobs) >= 2 }) {
		t.Fatalf("bob's program and warm interpreter not both seen: %v", bobs)
	}
	var bobPIDs []string
	for _, k := range bobs {
		bobPIDs = append(bobPIDs, strconv.Itoa(k.pid))
	}
	pidMax := 1 << 22
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		pidMax, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}

	aw := alice.ws()
	alice.runSource(aw, "attack", "attack.py", fmt.Sprintf(`import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
try:
    os.kill(-1, 9)
    print('kill -1 sent')
except OSError as e:
    print('kill -1', type(e).__name__)
hit = 0
for pid in range(2, %d):
    if pid != os.getpid():
        try:
            os.kill(pid, 9)
            hit += 1
        except OSError:
            pass
print('killed', hit)
print('traced', sum(libc.ptrace(16, pid, None, None) == 0 for pid in (%s,)))
`, pidMax, strings.Join(bobPIDs, ", ")))
	out, errOut, m := aw.until("attack", protocol.MsgREPLReady, 2*wait)
	if !strings.Contains(out, "killed 0\n") || !strings.Contains(out, "traced 0\n") {
		t.Errorf("alice's program reached other processes:\n%s%s (%+v)", out, errOut, m)
	}
	for _, k := range bobs {
		if procStart(k.pid) != k.start {
			t.Errorf("bob's process %d is gone after alice's attack", k.pid)
		}
	}
	bw.send(map[string]any{"type": "stdin", "id": "victim", "data": "bob\n"})
	if out, _, _ := bw.until("victim", protocol.MsgREPLReady, wait); out != "hello bob\n" {
		t.Errorf("bob's program after alice's attack: %q", out)
	}
}

// interpreters are the live Python interpreters (the driver's) that have
// home mounted: a student's programs and warm interpreter.
func interpreters(home string) []procKey {
	var out []procKey
	for _, line := range marked(home) {
		if !strings.Contains(line, "python3 -I -u") || strings.Contains(line, "bwrap") {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(line, "pid %d", &pid); err == nil {
			if st := procStart(pid); st != "" {
				out = append(out, procKey{pid, st})
			}
		}
	}
	return out
}
