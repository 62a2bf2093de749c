package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// ClassTotals are the class's figures across every instance.
type ClassTotals struct {
	Instances, Processes, Users int
}

var (
	descInstance        = desc("pythonide_instance_info", "1, labelled with the name of the instance that answered.", "instance")
	descClassInstances  = desc("pythonide_class_instances", "Instances serving the class (alive within the lease).")
	descClassProcesses  = desc("pythonide_class_processes", "Students' processes on every instance.")
	descClassUsers      = desc("pythonide_class_users_with_programs", "Users with programs on any instance.")
	descClassReadFailed = desc("pythonide_class_read_failed", "1 when the class's totals could not be read from the database.")
)

type classCollector struct {
	id     string
	totals func() (ClassTotals, error)
}

func (c *classCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInstance, descClassInstances, descClassProcesses, descClassUsers, descClassReadFailed} {
		ch <- d
	}
}

func (c *classCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descInstance, 1, c.id)
	t, err := c.totals()
	gauge(descClassReadFailed, boolValue(err != nil))
	if err == nil {
		gauge(descClassInstances, float64(t.Instances))
		gauge(descClassProcesses, float64(t.Processes))
		gauge(descClassUsers, float64(t.Users))
	}
}

// Class adds to reg the name of this instance and the class's totals
// across instances, read at each scrape (several instances sharing one
// database): each instance's own figures are the rest of its metrics.
func Class(reg *prometheus.Registry, instance string, totals func() (ClassTotals, error)) error {
	return reg.Register(&classCollector{id: instance, totals: totals})
}
