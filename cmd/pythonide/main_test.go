package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/sandbox"
)

// TestMain lets the test binary stand in for the pythonide binary: run with
// PYTHONIDE_TEST_MAIN=1 it is the real command, so these tests drive the
// very code that ships, as separate processes that can be killed.
func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested()
	if os.Getenv("PYTHONIDE_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func command(t testing.TB, data string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// The CPU line of graceful degradation reads the whole machine when no
	// cgroup limits the server, and CI runs other suites beside this one:
	// these tests are not about degradation (the monitor's tests are).
	cmd.Env = append(os.Environ(), "PYTHONIDE_TEST_MAIN=1", "PYTHONIDE_DATA="+data, "PYTHONIDE_DEGRADE_CPU_PERCENT=0")
	return cmd
}

// commands runs the binary's commands on the data folder data, as a
// teacher at a terminal: ok fails the test unless the command succeeds
// and returns its output; refused checks it exits with code and says want.
func commands(t *testing.T, data string) (ok func(args ...string) string, refused func(want string, code int, args ...string)) {
	run := func(args ...string) (string, int) {
		out, err := command(t, data, args...).CombinedOutput()
		if ee, isExit := err.(*exec.ExitError); isExit {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	ok = func(args ...string) string {
		t.Helper()
		out, code := run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
		return out
	}
	refused = func(want string, code int, args ...string) {
		t.Helper()
		out, got := run(args...)
		if got != code || !strings.Contains(out, want) {
			t.Errorf("%v: exit %d (want %d)\n%s\nwant it to say %q", args, got, code, out, want)
		}
	}
	return ok, refused
}

// freeAddr is a loopback address no one listens on, for a server the test
// starts. Its port is outside the kernel's ephemeral range, so it stays
// free between this check and the server's bind: another program on the
// machine (CI runs other suites beside these) that binds port 0 or dials
// out is given ephemeral ports only, and a port freed by a killed server is
// not handed to them either.
func freeAddr(t testing.TB) string {
	t.Helper()
	low := 32768 // Linux's default start of the range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	for try := 0; low > 12000 && try < 100; try++ {
		port := 10000 + rand.IntN(low-10000)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return l.Addr().String()
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // no room below the range: any free port
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `pythonide serve` (with any extra flags) and waits
// until it answers.
func startServer(t testing.TB, data, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := command(t, data, append([]string{"serve", "--listen", addr}, extra...)...)
	log, err := os.OpenFile(filepath.Join(data, "..", "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	probe := &http.Client{Timeout: time.Second} // whoever else holds the port may never answer
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := probe.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return cmd
		}
		if _, state := stat(cmd.Process.Pid); state == "Z" || state == "" {
			t.Fatalf("server exited before it answered on %s; the end of %s:\n%s", addr, log.Name(), tail(log.Name(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not answer on %s within 30 s; the end of %s:\n%s", addr, log.Name(), tail(log.Name(), 20))
	return nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func login(t testing.TB, addr, user, pw string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := c.Post("http://"+addr+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("login %s: %d %s", user, res.StatusCode, b)
	}
	return c
}

// version is the deterministic content of file i at version v: any mix of
// two versions, or a truncated one, fails check.
func version(i, v int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# file %d version %d\n", i, v)
	seed := sha256.Sum256([]byte(fmt.Sprint(i, "/", v)))
	for b.Len() < 48<<10 {
		fmt.Fprintf(&b, "x = %x\n", seed)
		seed = sha256.Sum256(seed[:])
	}
	return b.Bytes()
}

func parseVersion(b []byte) (i, v int, ok bool) {
	if _, err := fmt.Sscanf(string(b), "# file %d version %d\n", &i, &v); err != nil {
		return 0, 0, false
	}
	return i, v, bytes.Equal(b, version(i, v))
}

// TestCrashDuringSavesLosesNothing kills the real server with SIGKILL in the
// middle of hundreds of concurrent saves, restarts it, and finds every file
// holding one complete version: never a mix, a truncation, or nothing.
func TestCrashDuringSavesLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real servers")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	add := command(t, data, "user", "add", "alice", "--role", "student", "--password-stdin")
	add.Stdin = strings.NewReader("alice-pw-1\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	c := login(t, addr, "alice", "alice-pw-1")

	const files = 40
	put := func(i, v int) (int, error) {
		req, _ := http.NewRequest("PUT", "http://"+addr+"/api/files/content?path="+url.QueryEscape(fmt.Sprintf("Local/alice/f%02d.py", i)), bytes.NewReader(version(i, v)))
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	for i := 0; i < files; i++ {
		if code, err := put(i, 0); err != nil || code != 200 {
			t.Fatalf("initial save %d: %d %v", i, code, err)
		}
	}

	// Hammer saves from 16 writers; kill the server once a good number have landed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := 0
	ctx, stop := context.WithCancel(context.Background())
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for v := 1; ctx.Err() == nil && v < 1000; v++ {
				code, err := put((w*7+v)%files, v)
				if err != nil {
					return // the server is gone
				}
				if code == 200 {
					mu.Lock()
					landed++
					mu.Unlock()
				}
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := landed
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	stop()
	wg.Wait()
	if landed < 300 {
		t.Fatalf("only %d saves landed before the deadline", landed)
	}

	// Restart on the same data; every file is one whole version.
	addr = freeAddr(t) // the old port was free for anyone to take since
	startServer(t, data, addr)
	c = login(t, addr, "alice", "alice-pw-1")
	for i := 0; i < files; i++ {
		res, err := c.Get("http://" + addr + "/api/files/content?path=" + url.QueryEscape(fmt.Sprintf("Local/alice/f%02d.py", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		gi, gv, ok := parseVersion(b)
		if res.StatusCode != 200 || !ok || gi != i {
			t.Errorf("file %d after the crash: status %d, %d bytes, parsed (%d,%d) whole=%v", i, res.StatusCode, len(b), gi, gv, ok)
		}
	}
	// No temp file shows in the listing.
	res, err := c.Get("http://" + addr + "/api/files?path=Local/alice")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Entries []struct{ Name string } }
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Entries) != files+1 { // + welcome.py
		names := []string{}
		for _, e := range list.Entries {
			names = append(names, e.Name)
		}
		t.Errorf("listing after the crash has %d entries: %v", len(list.Entries), names)
	}
	t.Logf("%d saves landed before SIGKILL", landed)
}

// TestREADMEWalkthrough follows the README as a new user would: start the
// server, create a professor and two students, log in with a password,
// save, list and download, and find the permission rules holding.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	run := func(stdin string, args ...string) string {
		cmd := command(t, data, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("", "user", "add", "teacher", "--role", "professor", "--full-name", "Ms Teacher")
	var profPw string
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "password: "); ok {
			profPw = p
		}
	}
	if profPw == "" {
		t.Fatalf("no generated password printed:\n%s", out)
	}
	run("alice-pw-1\n", "user", "add", "alice", "--role", "student", "--password-stdin")
	csv := filepath.Join(dir, "class.csv")
	os.WriteFile(csv, []byte("username,password,full_name,role\nbob,bob-pw-12,Bob B,student\n"), 0o600)
	if out := run("", "user", "import", csv); !strings.Contains(out, "1 created") {
		t.Fatalf("import: %s", out)
	}
	if out := run("", "user", "list"); !strings.Contains(out, "teacher") || !strings.Contains(out, "bob") {
		t.Fatalf("list: %s", out)
	}

	addr := freeAddr(t)
	startServer(t, data, addr)
	alice := login(t, addr, "alice", "alice-pw-1")
	bob := login(t, addr, "bob", "bob-pw-12")
	login(t, addr, "teacher", profPw)
	base := "http://" + addr

	req, _ := http.NewRequest("PUT", base+"/api/files/content?path=Local/alice/hw1.py", strings.NewReader("print('hello')\n"))
	if res, err := alice.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("save: %v %v", res, err)
	}
	res, _ := alice.Get(base + "/api/files/download?path=Local/alice/hw1.py")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "print('hello')\n" {
		t.Fatalf("download: %q", b)
	}
	for _, u := range []string{"/api/files/content?path=Local/alice/hw1.py", "/api/files?path=Local/alice", "/api/files/download?path=Local/alice"} {
		res, _ := bob.Get(base + u)
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("bob GET %s: %d", u, res.StatusCode)
		}
	}
}
