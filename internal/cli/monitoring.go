package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/cluster"
	"github.com/pythonide/pythonide/internal/config"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/metrics"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/runner"
	"github.com/pythonide/pythonide/internal/sandbox"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/web"
)

// observability is the server's monitoring: the monitor (health, the
// degradation gate), the Prometheus metrics on the server's own registry,
// and the optional CloudWatch EMF writer. It is built in two steps because
// the monitor reads the process registry, which startRunner makes.
type observability struct {
	cfg    *config.Config
	st     *store.Store
	log    *slog.Logger
	stdout io.Writer

	prom     *prometheus.Registry
	mon      *monitor.Monitor
	metrics  *metrics.Metrics
	emf      *alarms.EMF
	closeEMF func() error
	server   atomic.Pointer[web.Server]    // for the open WebSocket count, once it exists
	runner   atomic.Pointer[runner.Runner] // for the warm interpreter count, once it exists
}

func newObservability(c *config.Config, st *store.Store, log *slog.Logger, stdout io.Writer) *observability {
	return &observability{cfg: c, st: st, log: log, stdout: stdout, prom: prometheus.NewRegistry(), closeEMF: func() error { return nil }}
}

// attach builds the monitor on the registry and the sandbox.
func (o *observability) attach(reg *registry.Registry, sb *sandbox.Sandbox) error {
	c := o.cfg
	layers := sb.Layers()
	o.mon = monitor.New(monitor.Options{
		DataDir: c.DataDir, Database: o.st, Registry: reg, Layers: &layers,
		Confinement: func() monitor.Confinement {
			var cf monitor.Confinement
			cf.Lost, cf.CgroupRecreated = sb.Problems()
			if r := o.runner.Load(); r != nil {
				if st := r.SelfTested(); st != nil {
					cf.SelfTest = &monitor.Check{OK: st.OK, Latency: st.Took, Err: st.Err}
				}
			}
			return cf
		},
		OpenWebSockets: func() int {
			if s := o.server.Load(); s != nil {
				return s.OpenWebSockets()
			}
			return 0
		},
		WarmInterpreters: func() int {
			if r := o.runner.Load(); r != nil {
				return r.WarmCount()
			}
			return 0
		},
		Gate:             degrade.Options{MemoryPercent: line(c.DegradeMemoryPercent), CPUPercent: line(c.DegradeCPUPercent), Wait: c.DegradeWait},
		ActiveUsersAlarm: c.AlertActiveUsers,
		Log:              o.log,
	})
	m, err := metrics.New(o.prom, o.mon)
	if err != nil {
		return err
	}
	o.metrics = m
	w, closeFn, err := alarms.OpenEMF(c.EMF, o.stdout)
	if err != nil {
		return err
	}
	if w != nil {
		o.emf = alarms.NewEMF(w, o.mon, alarms.EMFOptions{Namespace: c.EMFNamespace, Every: c.EMFInterval,
			Log: func(msg string, args ...any) { o.log.Warn(msg, args...) }})
		o.closeEMF = closeFn
	}
	return nil
}

// line maps a configured degradation line to the gate's: 0 (off) is negative there.
func line(percent float64) float64 {
	if percent == 0 {
		return -1
	}
	return percent
}

// swept is the cleanup service's observer for the metrics.
func (o *observability) swept(ds []cleanup.Decision) { o.metrics.Swept(cleanup.Reasons(ds)) }

// run samples, probes and writes EMF records until ctx ends.
func (o *observability) run(goBackground func(func()), ctx context.Context) {
	goBackground(func() { o.mon.Run(ctx) })
	if o.emf != nil {
		goBackground(func() { o.emf.Run(ctx) })
		o.log.Info("CloudWatch metrics (EMF)", "to", o.cfg.EMF, "namespace", o.cfg.EMFNamespace, "every", o.cfg.EMFInterval)
	}
}

// handler serves the server's registry as GET /metrics.
func (o *observability) handler() http.Handler {
	return promhttp.HandlerFor(o.prom, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)})
}

func (o *observability) close() {
	if err := o.closeEMF(); err != nil {
		o.log.Warn("closing the CloudWatch metrics file", "err", err)
	}
}

// class exports the class's totals across instances beside this one's
// figures.
func (o *observability) class(cl *cluster.Cluster) error {
	return metrics.Class(o.prom, cl.ID(), func() (metrics.ClassTotals, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		t, err := cl.Totals(ctx)
		return metrics.ClassTotals{Instances: len(t.Instances), Processes: t.Processes, Users: t.Users}, err
	})
}
