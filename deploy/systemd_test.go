package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unit is a parsed systemd unit file: section -> key -> values in order
// (a key may repeat).
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, "\\") {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, i+1, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// one is the single value of a key ("" if absent).
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) > 1 {
		t.Errorf("[%s] %s given %d times", section, key, len(v))
	}
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// serverCaps are the capabilities the server uses as root (see the unit).
var serverCaps = []string{"CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"}

func TestSystemdUnit(t *testing.T) {
	const path = "pythonide.service"
	u := parseUnit(t, path)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("no [%s] section", s)
		}
	}
	exec0 := strings.Fields(u.one(t, "Service", "ExecStart"))
	if len(exec0) < 2 || !filepath.IsAbs(exec0[0]) {
		t.Fatalf("ExecStart %q: want an absolute binary and serve", exec0)
	}
	c := serveConfig(t, "ExecStart", exec0[1:], nil)

	t.Run("required", func(t *testing.T) {
		for _, kv := range []struct{ key, want string }{
			{"Delegate", "yes"}, {"OOMPolicy", "continue"}, {"KillMode", "mixed"}, {"Restart", "on-failure"},
			{"EnvironmentFile", "-/etc/pythonide/env"}, {"ProtectSystem", "strict"}, {"ProtectHome", "yes"},
			{"PrivateTmp", "yes"}, {"NoNewPrivileges", "yes"}, {"ReadWritePaths", c.DataDir},
		} {
			if got := u.one(t, "Service", kv.key); got != kv.want {
				t.Errorf("%s=%s, want %s", kv.key, got, kv.want)
			}
		}
		if u.one(t, "Service", "LimitNOFILE") == "" {
			t.Error("LimitNOFILE not set")
		}
		if user := u.one(t, "Service", "User"); user != "" && user != "root" {
			t.Errorf("User=%s: the server needs root to drop programs to the sandbox uid", user)
		}
		stop, err := time.ParseDuration(u.one(t, "Service", "TimeoutStopSec"))
		if err != nil || stop <= c.DrainTimeout+c.ShutdownTimeout {
			t.Errorf("TimeoutStopSec=%s: want more than --drain-timeout %v + --shutdown-timeout %v, or KillMode=mixed SIGKILLs a draining server", u.one(t, "Service", "TimeoutStopSec"), c.DrainTimeout, c.ShutdownTimeout)
		}
		caps := strings.Fields(u.one(t, "Service", "CapabilityBoundingSet"))
		for _, need := range serverCaps {
			if !slices.Contains(caps, need) {
				t.Errorf("CapabilityBoundingSet lacks %s", need)
			}
		}
		if slices.Contains(caps, "CAP_SYS_ADMIN") {
			t.Error("CapabilityBoundingSet has CAP_SYS_ADMIN, which the sandbox does not need")
		}
		if !strings.Contains(u.one(t, "Service", "RestrictAddressFamilies"), "AF_NETLINK") && u.one(t, "Service", "RestrictAddressFamilies") != "" {
			t.Error("RestrictAddressFamilies without AF_NETLINK: bubblewrap cannot bring up the loopback of a program's network")
		}
		if u.one(t, "Install", "WantedBy") != "multi-user.target" {
			t.Error("not started at boot (WantedBy=multi-user.target)")
		}
	})

	t.Run("nothing that breaks the sandbox", func(t *testing.T) {
		for key, why := range map[string]string{
			"ProtectKernelTunables":  "covers /proc/sys: bubblewrap may not mount a fresh /proc (no namespace layer)",
			"ProtectKernelLogs":      "covers /proc/kmsg: bubblewrap may not mount a fresh /proc",
			"ProtectProc":            "changes /proc: bubblewrap may not mount a fresh /proc",
			"ProcSubset":             "hides parts of /proc: bubblewrap may not mount a fresh /proc",
			"ProtectControlGroups":   "makes /sys/fs/cgroup read-only: no cgroup layer",
			"RestrictNamespaces":     "forbids bubblewrap's user namespace",
			"PrivateUsers":           "forbids bubblewrap's user namespace",
			"SystemCallFilter":       "is inherited by students' programs; the sandbox has its own seccomp",
			"MemoryDenyWriteExecute": "is inherited by students' programs (ctypes, numpy)",
			"DynamicUser":            "the server must be root to drop programs to the sandbox uid",
		} {
			if v := u.one(t, "Service", key); v != "" && v != "no" && v != "false" {
				t.Errorf("%s=%s %s", key, v, why)
			}
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed (Debian package systemd)")
		}
		// verify also checks that ExecStart's binary exists: point it at
		// this test binary, everything else as shipped.
		b, _ := os.ReadFile(path)
		self, _ := os.Executable()
		dir := t.TempDir()
		copyPath := filepath.Join(dir, "pythonide.service")
		if err := os.WriteFile(copyPath, bytes.ReplaceAll(b, []byte("ExecStart="+exec0[0]), []byte("ExecStart="+self)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", "--man=no", copyPath).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("capability set keeps every layer", func(t *testing.T) {
		testUnitCapabilities(t, strings.Fields(u.one(t, "Service", "CapabilityBoundingSet")), u.one(t, "Service", "NoNewPrivileges") == "yes")
	})
}

// testUnitCapabilities runs the real server as root under the unit's
// capability bounding set (and no_new_privs) with setpriv, and checks that
// it keeps the confinement layers it has with every capability, gives homes
// to the sandbox uid and saves students' files. With CAP_SETUID taken away it
// must refuse to start: the check can fail. What systemd's mount and seccomp
// options do cannot be reproduced without systemd as PID 1; the options that
// would hurt the sandbox are kept out by the test above.
func testUnitCapabilities(t *testing.T, caps []string, nnp bool) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the server drops programs to the sandbox uid only as root")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is not installed (Debian package util-linux)")
	}
	bounding := func(cs []string) []string {
		spec := "-all"
		for _, c := range cs {
			spec += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
		}
		args := []string{setpriv, "--bounding-set", spec, "--inh-caps", "-all"}
		if nnp {
			args = append(args, "--no-new-privs")
		}
		return args
	}

	full := startServed(t, nil)
	if !full.ok {
		t.Fatalf("the server does not start with every capability:\n%s", full.log)
	}
	if !full.layers["uid_drop"] {
		t.Skipf("the sandbox drops no uid here even with every capability (layers %v)", full.layers)
	}

	withUnit := startServed(t, bounding(caps))
	if !withUnit.ok {
		t.Fatalf("the server does not start under the unit's capabilities %v:\n%s", caps, withUnit.log)
	}
	if fmt.Sprint(withUnit.layers) != fmt.Sprint(full.layers) {
		t.Errorf("layers under the unit's capabilities %v, with every capability %v", withUnit.layers, full.layers)
	}
	if withUnit.adoptedUID != 65534 {
		t.Errorf("a file already in a home belongs to uid %d after start, want the sandbox uid 65534 (AdoptHomes)", withUnit.adoptedUID)
	}
	if withUnit.savedUID != 65534 {
		t.Errorf("a file saved through the API belongs to uid %d, want 65534 (save status: %s)", withUnit.savedUID, withUnit.saveStatus)
	}

	noSetuid := slices.DeleteFunc(slices.Clone(caps), func(c string) bool { return c == "CAP_SETUID" })
	if without := startServed(t, bounding(noSetuid)); without.ok {
		t.Errorf("without CAP_SETUID the server started (layers %v); the capability check proves nothing", without.layers)
	}
}

type served struct {
	ok                   bool
	log                  string
	layers               map[string]bool
	adoptedUID, savedUID int
	saveStatus           string
}

// startServed prepares a data folder with one student and a root-owned file
// in the home, runs `pythonide serve` (this test binary) behind prefix, reads
// /readyz, saves a file as the student, and stops the server.
func startServed(t *testing.T, prefix []string) served {
	t.Helper()
	data, err := os.MkdirTemp("", "pythonide-deploy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) }) // private (0700), as mktemp -d makes it
	self, _ := os.Executable()
	env := append(os.Environ(), "PYTHONIDE_TEST_MAIN=1", "PYTHONIDE_DATA="+data, "PYTHONIDE_DEGRADE_CPU_PERCENT=0")
	add := exec.Command(self, "user", "add", "alice", "--role", "student", "--password-stdin")
	add.Env, add.Stdin = env, strings.NewReader("deploy-test-pw\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	old := filepath.Join(data, "ide", "Local", "alice", "old.py")
	if err := os.WriteFile(old, []byte("print('old')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(old, 0, 0); err != nil {
		t.Fatal(err)
	}

	argv := append(slices.Clone(prefix), self, "serve", "--listen", "127.0.0.1:0", "--log-format", "json")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logBuf.WriteString(sc.Text() + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	stop := func() string {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		cmd.Wait()
		return logBuf.String()
	}
	var s served
	select {
	case a := <-addr:
		s = exercise(t, "http://"+a, data)
		s.ok = true
		s.log = stop()
	case <-done:
		cmd.Wait()
		s.log = logBuf.String()
	case <-time.After(60 * time.Second):
		s.log = stop()
		t.Fatalf("the server neither listened nor exited within 60 s:\n%s", s.log)
	}
	return s
}

func exercise(t *testing.T, base, data string) served {
	t.Helper()
	s := served{adoptedUID: -1, savedUID: -1}
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Confinement map[string]any }
	json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	s.layers = map[string]bool{}
	for k, v := range ready.Confinement {
		switch x := v.(type) {
		case bool:
			s.layers[k] = x
		case string:
			s.layers[k+"="+x] = true
		}
	}
	if st, err := os.Stat(filepath.Join(data, "ide", "Local", "alice", "old.py")); err == nil {
		s.adoptedUID = int(st.Sys().(*syscall.Stat_t).Uid)
	}

	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err = cl.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"alice","password":"deploy-test-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodPut, base+"/api/files/content?path=Local/alice/hello.py", strings.NewReader("print('hello')\n"))
	res, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s.saveStatus = fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(body))
	if st, err := os.Stat(filepath.Join(data, "ide", "Local", "alice", "hello.py")); err == nil {
		s.savedUID = int(st.Sys().(*syscall.Stat_t).Uid)
	}
	return s
}
