package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/health"
	"github.com/pythonide/pythonide/internal/monitor"
	"github.com/pythonide/pythonide/internal/registry"
)

// desc is one gauge-like metric read from a Snapshot at scrape time.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descHealth         = desc("pythonide_health_status", "Health: 0 ok, 1 degraded, 2 unhealthy (as GET /health).")
	descWebSockets     = desc("pythonide_websockets_open", "Open WebSocket connections.")
	descWarm           = desc("pythonide_warm_interpreters", "Interpreters started ahead of need, waiting for a run (not in pythonide_processes).")
	descActiveUsers    = desc("pythonide_active_users", "Active users (the ActiveUsers of CloudWatch): connected, or with programs if more.")
	descUsers          = desc("pythonide_users", "Users by state: connected (IDE open) or with_programs.", "state")
	descProcesses      = desc("pythonide_processes", "Student processes by kind and state.", "kind", "state")
	descProcMemory     = desc("pythonide_process_memory_bytes", "Memory of student processes by kind (last samples).", "kind")
	descHeadroomProcs  = desc("pythonide_headroom_processes", "More processes admission would allow.")
	descHeadroomUsers  = desc("pythonide_headroom_users", "More users with programs admission would allow.")
	descHeadroomMemory = desc("pythonide_headroom_memory_bytes", "Memory not yet counted for admission.")
	descCPU            = desc("pythonide_cpu_utilization_percent", "CPU use of the server's cgroup as a percentage of the cores it may use.")
	descCPUCores       = desc("pythonide_cpu_limit_cores", "Cores the server may use (cgroup quota or cpuset, else the machine's).")
	descMemPercent     = desc("pythonide_memory_utilization_percent", "Memory working set as a percentage of the server's limit.")
	descMemUsed        = desc("pythonide_memory_used_bytes", "Memory working set of the server's cgroup (students' processes included).")
	descMemLimit       = desc("pythonide_memory_limit_bytes", "Memory the server may use (cgroup limit, else the machine's).")
	descDBUp           = desc("pythonide_database_up", "1 if the database answered the last ping.")
	descDBLatency      = desc("pythonide_database_latency_seconds", "Latency of the last database ping.")
	descDBConns        = desc("pythonide_database_connections", "Database pool connections by state.", "state")
	descDBMax          = desc("pythonide_database_connections_max", "Largest pool size (0: unlimited).")
	descDBWaits        = desc("pythonide_database_waits_total", "Times a query waited for a free pool connection.")
	descDBWaitSecs     = desc("pythonide_database_wait_seconds_total", "Time spent waiting for a free pool connection.")
	descStorageUp      = desc("pythonide_storage_up", "1 if the data volume passed the last write, fsync and read probe.")
	descStorageLatency = desc("pythonide_storage_probe_latency_seconds", "Latency of the last storage probe.")
	descProbes         = desc("pythonide_probes_total", "Database and storage probes by result.", "check", "result")
	descDegraded       = desc("pythonide_degraded", "1 while new runs are shed because of this line (memory: refused; cpu: queued).", "line")
	descGateWaiting    = desc("pythonide_gate_waiting", "Runs waiting in the CPU queue.")
	descSandbox        = desc("pythonide_sandbox_layer", "1 for each confinement layer active.", "layer")
)

var allDescs = []*prometheus.Desc{
	descHealth, descWebSockets, descWarm, descActiveUsers, descUsers, descProcesses, descProcMemory, descHeadroomProcs,
	descHeadroomUsers, descHeadroomMemory, descCPU, descCPUCores, descMemPercent, descMemUsed, descMemLimit,
	descDBUp, descDBLatency, descDBConns, descDBMax, descDBWaits, descDBWaitSecs, descStorageUp, descStorageLatency,
	descProbes, descDegraded, descGateWaiting, descSandbox,
}

// gauges reads a Snapshot at each scrape: the figures are always current
// and no goroutine copies them into gauge objects.
type gauges struct{ mon *monitor.Monitor }

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	s := g.mon.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	status := map[health.Status]float64{health.StatusOK: 0, health.StatusDegraded: 1, health.StatusUnhealthy: 2}
	gauge(descHealth, status[health.Evaluate(s, alarms.For(g.mon)).Status])
	gauge(descWebSockets, float64(s.WebSockets))
	gauge(descWarm, float64(s.Warm))
	gauge(descActiveUsers, float64(s.ActiveUsers()))
	if st := s.Registry; st != nil {
		gauge(descUsers, float64(st.Connected), "connected")
		gauge(descUsers, float64(st.ActiveUsers), "with_programs")
		for _, pc := range s.Processes {
			gauge(descProcesses, float64(pc.N), string(pc.Kind), string(pc.State))
		}
		for _, k := range registry.Kinds() {
			gauge(descProcMemory, float64(st.MemoryByKind[k]), string(k))
		}
		gauge(descHeadroomProcs, float64(st.Headroom.Processes))
		gauge(descHeadroomUsers, float64(st.Headroom.Users))
		gauge(descHeadroomMemory, float64(st.Headroom.MemoryBytes))
	}
	if s.Usage.CPUKnown {
		gauge(descCPU, s.Usage.CPUPercent)
	}
	if s.Usage.CPUCores > 0 {
		gauge(descCPUCores, s.Usage.CPUCores)
	}
	if s.Usage.MemoryLimit > 0 {
		gauge(descMemPercent, s.Usage.MemoryPercent)
		gauge(descMemUsed, float64(s.Usage.MemoryUsed))
		gauge(descMemLimit, float64(s.Usage.MemoryLimit))
	}
	if s.Probed {
		gauge(descDBUp, boolValue(s.Database.OK))
		gauge(descDBLatency, s.Database.Latency.Seconds())
		gauge(descStorageUp, boolValue(s.Storage.OK))
		gauge(descStorageLatency, s.Storage.Latency.Seconds())
	}
	if s.Dialect != "" { // a database is watched
		gauge(descDBConns, float64(s.Pool.InUse), "in_use")
		gauge(descDBConns, float64(s.Pool.Idle), "idle")
		gauge(descDBMax, float64(s.Pool.MaxOpenConnections))
		counter(descDBWaits, float64(s.Pool.WaitCount))
		counter(descDBWaitSecs, s.Pool.WaitDuration.Seconds())
	}
	for _, check := range []string{"database", "storage"} {
		counter(descProbes, float64(s.Probes[check][true]), check, "ok")
		counter(descProbes, float64(s.Probes[check][false]), check, "failed")
	}
	gauge(descDegraded, boolValue(s.Gate.Shedding == "memory"), "memory")
	gauge(descDegraded, boolValue(s.Gate.Shedding == "cpu"), "cpu")
	gauge(descGateWaiting, float64(s.Gate.Waiting))
	if l := s.Layers; l != nil {
		for name, on := range map[string]bool{
			"cgroup": l.Cgroup != "" && l.Cgroup != "none", "namespaces": l.Namespaces, "landlock": l.Landlock,
			"seccomp": l.Seccomp, "rlimits": l.Rlimits, "uid_drop": l.UIDDrop,
		} {
			gauge(descSandbox, boolValue(on), name)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
