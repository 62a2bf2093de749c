package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/interp"
	"github.com/pythonide/pythonide/internal/protocol"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/tracking"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested() // the sandbox re-executes this test binary as its helper
	os.Exit(m.Run())
}

var cgroupSeq atomic.Int64

// newRunRig is a rig that also runs programs: the real sandbox with every
// layer this machine has, the real driver, registry, runner and cleanup
// service (sweeping every 100 ms).
func newRunRig(t *testing.T, tweak func(*config.Config)) *rig {
	t.Helper()
	return newRunRigWith(t, runRigOptions{tweak: tweak})
}

// runRigOptions vary the run rig: another store, and (for the monitoring
// tests) hooks made once the registry exists.
type runRigOptions struct {
	store *store.Store // nil: a fresh SQLite store
	tweak func(*config.Config)
	hooks func(reg *registry.Registry) runHooks
}

// runHooks are the runner's gate and observer and the cleanup service's
// sweep observer.
type runHooks struct {
	gate    runner.Gate
	observe runner.Observer
	swept   func([]cleanup.Decision)
}

func newRunRigWith(t *testing.T, o runRigOptions) *rig {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	tweak := o.tweak
	if o.store == nil {
		o.store = storetest.SQLite(t)
	}
	r := newRig(t, o.store, func(c *config.Config) {
		c.MaxFileBytes = 1 << 20
		c.QuotaBytes = 8 << 20
		c.SweepInterval = 100 * time.Millisecond
		c.WallClock = 20 * time.Second
		c.CPUSeconds = 30
		c.OutputBytes = 1 << 20
		if tweak != nil {
			tweak(c)
		}
	})
	c := r.cfg // r.data has private parents, as a newcomer's may have
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sb, err := sandbox.Probe(context.Background(), sandbox.Config{
		Python: c.Python, MemoryBytes: c.MemoryPerProc, TotalMemory: c.MemoryTotal, CPUSeconds: c.CPUSeconds,
		MaxProcs: c.MaxThreads, MaxFileBytes: c.MaxFileBytes, UID: c.SandboxUID, GID: c.SandboxUID, NoNamespaces: c.NoNamespaces,
		CgroupName: "pythonide-webtest-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(cgroupSeq.Add(1), 10),
	}, log)
	if err != nil {
		t.Skipf("no confinement layer on this machine: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	if !sb.Remaps() && sb.Layers().UIDDrop {
		// Landlock alone stages nothing: as docs/security.md tells
		// operators, the sandbox uid must then walk down to the homes.
		for _, d := range []string{filepath.Dir(r.data), r.data} {
			os.Chmod(d, 0o755)
		}
	}
	driverDir := filepath.Join(r.data, "runtime", "driver")
	driver, err := interp.Install(driverDir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Limits{
		MaxActiveUsers: c.MaxActiveUsers, MaxPerUser: c.MaxProcsPerUser, MaxTotal: c.MaxProcs,
		MemoryPerProc: c.MemoryPerProc, MemoryTotal: c.MemoryTotal, WallClock: c.WallClock,
		IdleTimeout: c.IdleTimeout, InputTimeout: c.InputTimeout, AbandonGrace: c.AbandonGrace,
		StartTimeout: 30 * time.Second,
	}, registry.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	var hooks runHooks
	if o.hooks != nil {
		hooks = o.hooks(reg)
	}
	tracker := tracking.NewTracker(reg, r.st, log)
	run := runner.New(reg, sb, r.ws, runner.Options{DriverDir: driverDir, DriverPath: driver,
		OutputBytes: c.OutputBytes, OutputRate: c.OutputRate, SampleEvery: 200 * time.Millisecond,
		Gate: hooks.gate, Observe: hooks.observe, Warm: c.WarmInterpreters,
		WarmGrace:  -1, // the corpus's checks of what is left expect it gone with the last tab
		ScratchDir: filepath.Join(r.data, "runtime", "grading"),
	}, log, tracker.Changed)
	sweep := cleanup.New(reg, run, c.SweepInterval, log)
	sweep.Swept = hooks.swept
	ctx, cancel := context.WithCancel(context.Background())
	go sweep.Run(ctx)
	go tracker.Run(ctx, 100*time.Millisecond)
	go r.server.assignments.Run(ctx)
	t.Cleanup(func() {
		cancel()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		if err := run.Shutdown(sctx); err != nil {
			t.Errorf("runner shutdown: %v", err)
		}
	})
	r.server.runner = run
	r.runner, r.reg, r.sweep = run, reg, sweep
	return r
}

// wsc is a browser's WebSocket.
type wsc struct {
	t    *testing.T
	c    *websocket.Conn
	msgs chan protocol.Message
}

func (c *client) ws() *wsc {
	c.r.t.Helper()
	hdr := http.Header{"Origin": {c.r.srv.URL}}
	conn, res, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(c.r.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: c.http, HTTPHeader: hdr})
	if err != nil {
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		c.r.t.Fatalf("websocket dial: %v (%d)", err, code)
	}
	conn.SetReadLimit(16 << 20)
	w := &wsc{t: c.r.t, c: conn, msgs: make(chan protocol.Message, 4096)}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m protocol.Message
			if json.Unmarshal(b, &m) == nil {
				w.msgs <- m
			}
		}
	}()
	c.r.t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return w
}

func (w *wsc) send(m map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	if err := w.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

func (w *wsc) close() { w.c.Close(websocket.StatusNormalClosure, "") }

// next waits for the next message for id (others are skipped).
func (w *wsc) next(id string, timeout time.Duration) protocol.Message {
	w.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatalf("connection closed while waiting for a message for %q", id)
			}
			if m.ID == id || (m.Type == protocol.MsgError && m.ID == "") {
				return m
			}
		case <-deadline:
			w.t.Fatalf("no message for %q within %v", id, timeout)
		}
	}
}

// until collects id's messages until one of type typ arrives; the text of
// stdout and stderr before it is returned joined.
func (w *wsc) until(id, typ string, timeout time.Duration) (out, errOut string, m protocol.Message) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := w.next(id, time.Until(deadline))
		switch m.Type {
		case typ:
			return out, errOut, m
		case protocol.MsgStdout:
			out += m.Data
		case protocol.MsgStderr:
			errOut += m.Data
		case protocol.MsgExit, protocol.MsgError:
			w.t.Fatalf("waiting for %s of %q, got %s %v %q (stdout %q, stderr %q)", typ, id, m.Type, m.Code, m.Message, out, errOut)
		}
	}
}

// program saves source as Local/<user>/<name> through the API.
func (c *client) program(name, source string) string {
	c.r.t.Helper()
	p := "Local/" + c.name + "/" + name
	if res := c.put(p, source); res.status != 200 {
		c.r.t.Fatalf("save %s: %d %s", p, res.status, res.body)
	}
	return p
}

func newClassRunRig(t *testing.T, tweak func(*config.Config)) (*rig, *client, *client, *client) {
	r := newRunRig(t, tweak)
	r.user("prof", store.RoleProfessor)
	r.user("alice", store.RoleStudent)
	r.user("bob", store.RoleStudent)
	return r, r.login("prof"), r.login("alice"), r.login("bob")
}
