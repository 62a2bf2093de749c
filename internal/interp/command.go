package interp

import (
	"encoding/json"
	"strings"
)

// Args are the interpreter arguments that run the driver: -I keeps the
// student's environment and user site-packages out, -u keeps fds 1 and 2
// unbuffered for what bypasses the driver.
func Args(driverPath, script string) []string {
	args := []string{"-I", "-u", driverPath}
	if script != "" {
		args = append(args, "--script", script)
	}
	return args
}

// WaitArgs are the interpreter arguments of a warm interpreter: the driver
// starts, then waits on fd 4 for the Claim line that says what to run.
func WaitArgs(driverPath string) []string {
	return []string{"-I", "-u", driverPath, "--wait"}
}

// Claim is the first line sent to a warm interpreter: the script's absolute
// path as a JSON string ("" for an empty REPL). The driver moves to the
// script's folder and runs it as --script would.
func Claim(script string) string {
	b, _ := json.Marshal(script) // a string always marshals
	return string(b)
}

// baseEnv is the whole environment a student's program starts with: nothing of
// the server's. The PYTHON* entries are ignored by the driver's own interpreter
// (-I) but reach Python programs the student starts; the driver applies their
// effect itself. One BLAS/OpenMP thread keeps numpy inside the pids and memory
// limits.
func baseEnv() []string {
	return []string{
		"PATH=/usr/bin:/bin",
		"LANG=C.UTF-8",
		"PYTHONIOENCODING=utf-8",
		"PYTHONDONTWRITEBYTECODE=1",
		"MPLBACKEND=" + MPLBackend,
		"OPENBLAS_NUM_THREADS=1",
		"OMP_NUM_THREADS=1",
		"MKL_NUM_THREADS=1",
	}
}

// Env returns the clean child environment plus extra ("KEY=value", e.g.
// HOME=/home/alice); an extra entry replaces a base entry with the same key,
// a later extra replaces an earlier one, and entries without "=" are dropped
// because exec would pass them on as garbage.
func Env(extra ...string) []string {
	env := baseEnv()
	index := make(map[string]int, len(env)+len(extra))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range extra {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if i, seen := index[k]; seen {
			env[i] = kv
			continue
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	return env
}
