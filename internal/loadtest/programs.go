package loadtest

import (
	"fmt"
	"strconv"
)

// The programs the students run. Each prints only checkable lines
// ("LT <nonce> <seq>…", see check.go) on stdout, so anything else a student
// receives is someone else's output or the server's.

// interactiveLines is how many lines a run prints before asking for input.
const interactiveLines = 5

// reconnectLines is how many lines a reconnecting run prints, slowly, so
// the connection drops in the middle of them.
const reconnectLines = 10

// interactive prints lines 1..n (pausing between them when slow), asks for
// input and prints it back as line n+1, then ends: the run becomes a REPL
// that still holds N.
func interactive(nonce string, n int, slow bool) string {
	pause := ""
	if slow {
		pause = "    time.sleep(0.05)\n"
	}
	return fmt.Sprintf(`# pythonide load test: an interactive run
import time
N = %s
for i in range(1, %d):
    print("LT", N, i)
%ss = input("LT? ")
print("LT", N, %d, "got:" + s)
`, strconv.Quote(nonce), n+1, pause, n+1)
}

// replLine is what the student types into the REPL: it prints line seq
// using the N the script left behind.
func replLine(seq int) string {
	return fmt.Sprintf("print(\"LT\", N, %d)\n", seq)
}

// busy prints line 1 and spins until stopped.
func busy(nonce string) string {
	return fmt.Sprintf(`# pythonide load test: a busy loop
N = %s
print("LT", N, 1, flush=True)
while True:
    pass
`, strconv.Quote(nonce))
}

// memoryHogMiB is what the hog tries to hold: well above any sensible
// per-program limit, small enough not to hurt a machine without one.
const memoryHogMiB = 400

// memoryHog prints line 1, then holds more and more memory; line 2 says it
// got everything (no limit stopped it).
func memoryHog(nonce string) string {
	return fmt.Sprintf(`# pythonide load test: a memory hog
N = %s
print("LT", N, 1, flush=True)
hold = []
for i in range(%d):
    hold.append(bytearray(1 << 20))
print("LT", N, 2, "survived")
`, strconv.Quote(nonce), memoryHogMiB)
}

// floodLines makes a flood of several MiB: past the default output cap.
const floodLines = 300000

// flood prints lines as fast as it can.
func flood(nonce string) string {
	return fmt.Sprintf(`# pythonide load test: a print flood
N = %s
for i in range(1, %d):
    print("LT", N, i)
`, strconv.Quote(nonce), floodLines+1)
}
