package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pythonide/pythonide/internal/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested() // the sandbox re-executes this test binary as its helper
	os.Exit(m.Run())
}

// TestServeWiresMonitoring runs `pythonide serve` in-process and checks that
// /health, /metrics and the EMF file come from the wired monitor.
func TestServeWiresMonitoring(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	data := t.TempDir() // private, as a newcomer's may be
	emf := filepath.Join(t.TempDir(), "emf.log")
	base, _ := startServe(t, "--data", data, "--emf", emf, "--emf-interval", "1s", "--allow-unconfined")
	deadline := time.Now().Add(60 * time.Second)

	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status  string `json:"status"`
		Sandbox struct {
			SelfTest *struct{ OK bool } `json:"self_test"`
		} `json:"sandbox"`
		Storage struct{ OK bool } `json:"storage"`
		Limits  struct {
			MaxUsers int `json:"max_users"`
		} `json:"limits"`
		Degradation struct {
			MemoryLine float64 `json:"memory_line_percent"`
		} `json:"degradation"`
	}
	json.NewDecoder(res.Body).Decode(&h)
	res.Body.Close()
	if res.StatusCode != 200 || h.Status == "" || h.Status == "unhealthy" || h.Sandbox.SelfTest == nil || !h.Sandbox.SelfTest.OK || !h.Storage.OK ||
		h.Limits.MaxUsers != 38 || h.Degradation.MemoryLine != 85 {
		t.Fatalf("/health %d: %+v", res.StatusCode, h)
	}

	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	for _, name := range []string{"pythonide_sandbox_layer", "pythonide_http_requests_total", "pythonide_database_up",
		"pythonide_headroom_processes", "pythonide_process_exits_total", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}

	for {
		if b, err := os.ReadFile(emf); err == nil && bytes.Contains(b, []byte("\n")) {
			line, _ := bufio.NewReader(bytes.NewReader(b)).ReadBytes('\n')
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil || rec["Service"] != "pythonide" || rec["_aws"] == nil {
				t.Fatalf("EMF record: %s", line)
			}
			if !bytes.Contains(line, []byte(`"Namespace":"PythonIDE/Custom"`)) {
				t.Fatalf("EMF namespace: %s", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no EMF record written")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startServe runs `pythonide serve` in-process with args on a free port and
// returns its base URL and its log; the server is stopped at cleanup and
// must exit 0.
func startServe(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, Env{
			Args:  append([]string{"serve", "--listen", addr, "--cgroup-name", "pythonide-clitest-" + strconv.Itoa(os.Getpid())}, args...),
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr, Getenv: func(string) string { return "" },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return base, stderr
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before it listened:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
