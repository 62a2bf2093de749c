// Package monitortest builds what the tests of the monitor's users (health,
// metrics, alarms) run a real Monitor on: a fake machine's /proc and cgroup
// files, a database whose answer a test switches, and a registry with
// processes in it.
package monitortest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
)

// DB is a database whose ping fails while Down is set. The real PostgreSQL
// outage is tested in internal/web against a server that is really
// stopped; this one drives the models' cases.
type DB struct{ Down atomic.Bool }

func (d *DB) Ping(ctx context.Context) error {
	if d.Down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

func (d *DB) Stats() sql.DBStats {
	return sql.DBStats{OpenConnections: 2, InUse: 1, Idle: 1, MaxOpenConnections: 10}
}

func (d *DB) Dialect() string { return "postgres" }

// Stat4CPU is /proc/stat of a 4-CPU machine.
const Stat4CPU = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\ncpu2 1 0 0 0 0 0 0 0 0 0\ncpu3 1 0 0 0 0 0 0 0 0 0\nintr 1\n"

// Machine writes a machine of 8 GiB without cgroup limits at the given
// memory use, and returns its root.
func Machine(t *testing.T, memPercent int) string {
	t.Helper()
	total := int64(8 << 30)
	avail := total - total*int64(memPercent)/100
	root := t.TempDir()
	for p, content := range map[string]string{
		"proc/self/cgroup":    "0::/\n",
		"proc/self/mountinfo": "",
		"proc/meminfo":        "MemTotal: " + strconv.FormatInt(total/1024, 10) + " kB\nMemAvailable: " + strconv.FormatInt(avail/1024, 10) + " kB\n",
		"proc/stat":           Stat4CPU,
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Resources reads a Machine at the given memory use.
func Resources(t *testing.T, memPercent int) *monitor.Resources {
	return monitor.NewResources(Machine(t, memPercent), nil)
}

// Registry is an empty registry with limits l.
func Registry(t *testing.T, l registry.Limits) *registry.Registry {
	t.Helper()
	reg, err := registry.New(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Admit admits and starts a process using mem bytes.
func Admit(t *testing.T, reg *registry.Registry, id, owner, path string, kind registry.Kind, mem int64) {
	t.Helper()
	if _, err := reg.Admit(registry.Request{ID: id, Owner: owner, Path: path, Kind: kind}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Started(id, 100000+len(id)*7+int(mem%97), uint64(len(id))); err != nil {
		t.Fatal(err)
	}
	reg.Sample(id, mem, 0.1)
}
