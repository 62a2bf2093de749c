// Package monitor tells an operator, in one request, whether the class can
// go on: the server's CPU and memory read the container-aware way (its own
// cgroup's limits and usage, not the host's), a real storage probe, the
// database's state, the process registry's load and headroom, and the
// health model that turns these into ok / degraded / unhealthy with reasons.
// It exports the same figures as Prometheus metrics (on an injected
// registry) and CloudWatch Embedded Metric Format records, and it holds the
// Gate that sheds new runs when memory or CPU is over the line, so the
// thresholds that page an operator also protect the class.
package monitor
