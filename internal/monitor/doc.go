// Package monitor reads what the server's state is made of, on an interval
// and on demand: its CPU and memory the container-aware way (its own
// cgroup's limits and usage, not the host's), a real write-and-read probe of
// the data volume, the database's answer, and the process registry's load
// and headroom; it feeds each reading to the degradation gate. Its Snapshot
// is what the health model (internal/health), the Prometheus metrics
// (internal/metrics) and the alarms and CloudWatch records (internal/alarms)
// are computed from.
package monitor
