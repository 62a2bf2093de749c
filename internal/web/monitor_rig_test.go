package web

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
)

// monRig is a run rig wired as serve wires it for monitoring: the monitor
// reads the rig's registry, store and data folder; its gate sits in front of
// the runner; its metrics observe the runner, the cleanup service and every
// HTTP request, and are served from an injected Prometheus registry.
type monRig struct {
	*rig
	mon     *monitor.Monitor
	metrics *monitor.Metrics
}

// newMonitoredRig builds it on st reading CPU and memory from res (nil:
// this machine).
func newMonitoredRig(t *testing.T, st *store.Store, res *monitor.Resources, gate monitor.GateOptions, tweak func(*config.Config)) *monRig {
	t.Helper()
	m := &monRig{}
	prom := prometheus.NewRegistry()
	var cfg *config.Config
	m.rig = newRunRigWith(t, runRigOptions{
		store: st,
		tweak: func(c *config.Config) {
			cfg = c
			if tweak != nil {
				tweak(c)
			}
		},
		hooks: func(reg *registry.Registry) runHooks {
			m.mon = monitor.New(monitor.Options{DataDir: cfg.DataDir, Registry: reg, Database: st, Resources: res, Gate: gate,
				OpenWebSockets: func() int {
					if m.rig == nil {
						return 0
					}
					return m.server.OpenWebSockets()
				}})
			x, err := monitor.NewMetrics(prom, m.mon)
			if err != nil {
				t.Fatal(err)
			}
			m.metrics = x
			return runHooks{gate: m.mon.Gate(), observe: x, swept: x.Swept}
		},
	})
	m.server.mon = m.mon
	m.server.metricsHandler = promhttp.HandlerFor(prom, promhttp.HandlerOpts{})
	m.server.observe = m.metrics.ObserveHTTP
	m.mon.Sample()
	return m
}

// scrapeMetrics fetches /metrics through c and parses it.
func scrapeMetrics(t *testing.T, c *client) map[string]*dto.MetricFamily {
	t.Helper()
	res := c.do("GET", "/metrics", nil, nil)
	if res.status != 200 {
		t.Fatalf("/metrics: %d %s", res.status, res.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(res.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample finds the value of family name with labels including want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// pgInstance is a private PostgreSQL server that a test may stop and
// start: the shared one other tests use must not go down.
type pgInstance struct {
	t    *testing.T
	dir  string
	port int
	bin  string
}

func (p *pgInstance) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", p.port)
}

func (p *pgInstance) pgctl(args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.dir, "data")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
	}
}

func (p *pgInstance) Start() {
	p.pgctl("-w", "-t", "60", "-l", filepath.Join(p.dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir), "start")
}

func (p *pgInstance) Stop() { p.pgctl("-w", "-t", "60", "-m", "fast", "stop") }

// privatePostgres initialises and starts a PostgreSQL of the test's own on
// a free port. It needs the server binaries and root (to run them as the
// postgres user); without them the test is skipped.
func privatePostgres(t *testing.T) *pgInstance {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) on this machine")
	}
	if os.Geteuid() != 0 {
		t.Skip("starting a private PostgreSQL needs root (to run it as the postgres user)")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user on this machine")
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("no runuser on this machine")
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "pythonide-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &pgInstance{t: t, dir: dir, port: port, bin: filepath.Dir(matches[0])}
	cmd := exec.Command("runuser", "-u", "postgres", "--", matches[0], "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	return p
}

// openStore opens (and migrates) a store on url, closed at cleanup.
func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeMachine writes /proc files of a machine without cgroup limits at the
// given memory use; the monitor's Resources read it instead of this one.
func fakeMachine(t *testing.T, memPercent int, stat string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"proc/self"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "proc/self/cgroup"), "0::/\n")
	writeFile(t, filepath.Join(root, "proc/self/mountinfo"), "")
	writeFile(t, filepath.Join(root, "proc/stat"), stat)
	setMemory(t, root, memPercent)
	return root
}

// setMemory sets the fake machine's memory use (of 8 GiB).
func setMemory(t *testing.T, root string, percent int) {
	t.Helper()
	const totalKB = 8 << 20
	writeFile(t, filepath.Join(root, "proc/meminfo"),
		fmt.Sprintf("MemTotal: %d kB\nMemAvailable: %d kB\n", totalKB, totalKB-totalKB*percent/100))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPromHandler serves mon's metrics from a registry of its own.
func newPromHandler(t *testing.T, mon *monitor.Monitor) http.Handler {
	t.Helper()
	prom := prometheus.NewRegistry()
	if _, err := monitor.NewMetrics(prom, mon); err != nil {
		t.Fatal(err)
	}
	return promhttp.HandlerFor(prom, promhttp.HandlerOpts{})
}
