// Package metrics exports the server's figures and events as Prometheus
// metrics on a registry the caller owns: the monitor's gauges read at each
// scrape, and counters and histograms of HTTP requests, program starts,
// ends, refusals and cleanup sweeps.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/monitor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pythonide/pythonide/internal/registry"
)

// Admission refusal labels: the registry's limits and the gate's lines.
var refusalLabels = []struct {
	cause error
	label string
}{
	{registry.ErrPerUserLimit, "per_user"},
	{registry.ErrUsersLimit, "users"},
	{registry.ErrTotalLimit, "total"},
	{registry.ErrMemoryLimit, "memory"},
	{degrade.ErrShedMemory, "degraded_memory"},
	{degrade.ErrShedCPU, "degraded_cpu"},
}

// Metrics exports the monitor's figures and the server's events as
// Prometheus metrics on a registry the caller owns (never the global one,
// so tests and several servers in one process do not collide). Every label
// value that marks a failure exists from the start at 0, so an alert on
// increase() sees the first failure.
//
// It is the runner's Observer, the web layer's request observer and the
// cleanup service's sweep observer.
type Metrics struct {
	mon *monitor.Monitor

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	starts       *prometheus.CounterVec
	exits        *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	startLatency *prometheus.HistogramVec
	sweeps       prometheus.Counter
	reaps        *prometheus.CounterVec
}

// New registers the collectors on reg: the monitor's gauges, the event
// counters, and Go runtime and process collectors.
func New(reg *prometheus.Registry, mon *monitor.Monitor) (*Metrics, error) {
	x := &Metrics{
		mon: mon,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pythonide_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pythonide_http_request_duration_seconds", Help: "HTTP request latency by route pattern (WebSockets excluded).",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pythonide_process_starts_total", Help: "Student processes started, by kind.",
		}, []string{"kind"}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pythonide_process_exits_total", Help: "Student processes ended, by kind and reason.",
		}, []string{"kind", "reason"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pythonide_admission_refusals_total", Help: "Runs refused before starting, by the limit or degradation line that refused them.",
		}, []string{"limit"}),
		startLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pythonide_process_start_seconds", Help: "Time from a run request to the sandboxed process running, by kind.",
			Buckets: []float64{.01, .025, .05, .1, .2, .35, .5, .75, 1, 2, 5},
		}, []string{"kind"}),
		sweeps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pythonide_cleanup_sweeps_total", Help: "Cleanup sweeps run.",
		}),
		reaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pythonide_cleanup_reaps_total", Help: "Processes the cleanup service stopped, by reason.",
		}, []string{"reason"}),
	}
	for _, k := range registry.Kinds() {
		x.starts.WithLabelValues(string(k))
		x.startLatency.WithLabelValues(string(k))
		for _, r := range registry.Reasons() {
			x.exits.WithLabelValues(string(k), string(r))
		}
	}
	for _, r := range registry.Reasons() {
		x.reaps.WithLabelValues(string(r))
	}
	for _, l := range refusalLabels {
		x.refusals.WithLabelValues(l.label)
	}
	x.refusals.WithLabelValues("other")
	cs := []prometheus.Collector{
		x.httpRequests, x.httpDuration, x.starts, x.exits, x.refusals, x.startLatency, x.sweeps, x.reaps,
		&gauges{mon: mon},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// ObserveHTTP counts a finished request under its route pattern (never the
// raw path, whose values are unbounded).
func (x *Metrics) ObserveHTTP(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	x.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	if status != http.StatusSwitchingProtocols { // a WebSocket's "latency" is its lifetime
		x.httpDuration.WithLabelValues(route).Observe(took.Seconds())
	}
}

// Started counts a process start and its latency.
func (x *Metrics) Started(kind registry.Kind, took time.Duration) {
	x.starts.WithLabelValues(string(kind)).Inc()
	x.startLatency.WithLabelValues(string(kind)).Observe(took.Seconds())
}

// Ended counts a process end.
func (x *Metrics) Ended(kind registry.Kind, reason registry.Reason) {
	x.exits.WithLabelValues(string(kind), string(reason)).Inc()
}

// Refused counts a refused run by what refused it.
func (x *Metrics) Refused(err error) {
	x.refusals.WithLabelValues(RefusalLabel(err)).Inc()
}

// RefusalLabel names the limit behind a refusal.
func RefusalLabel(err error) string {
	for _, l := range refusalLabels {
		if errors.Is(err, l.cause) {
			return l.label
		}
	}
	return "other"
}

// Swept counts a sweep and the reasons of what it stopped.
func (x *Metrics) Swept(reasons []registry.Reason) {
	x.sweeps.Inc()
	for _, r := range reasons {
		x.reaps.WithLabelValues(string(r)).Inc()
	}
}
