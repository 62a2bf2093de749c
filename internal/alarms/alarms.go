// Package alarms is the seed's alarms (CPU, memory, active users) and the
// service-health ones (database, storage): their definitions, shipped as
// deploy/cloudwatch-alarms.yaml and deploy/prometheus-rules.yaml and held to
// this list by their tests; their evaluation on the server's own figures
// for /health; and the CloudWatch Embedded Metric Format records that carry
// the same figures to CloudWatch.
package alarms

import "github.com/pythonide/pythonide/internal/monitor"

// Metric names shared by the EMF records, the in-server alarm states and the
// alarm definitions in deploy/ (whose tests compare against Alarms).
const (
	MetricActiveUsers       = "ActiveUsers"
	MetricTotalProcesses    = "TotalProcesses"
	MetricProcessesPerUser  = "ProcessesPerUser"
	MetricMaxProcsPerUser   = "MaxProcessesPerUser"
	MetricProcessMemoryMB   = "ProcessMemoryMB"
	MetricProcesses         = "Processes"
	MetricDatabaseHealthy   = "DatabaseHealthy"
	MetricEFSMounted        = "EFSMounted"
	MetricCPUUtilization    = "CPUUtilization"
	MetricMemoryUtilization = "MemoryUtilization"
	MetricRunsShed          = "RunsShed"
)

// Comparisons, spelled as CloudWatch spells them.
const (
	GreaterThan = "GreaterThanThreshold"
	LessThan    = "LessThanThreshold"
)

// For is the alarms at m's lines.
func For(m *monitor.Monitor) []Alarm { return Alarms(m.Lines()) }

// Alarm is one of the seed's alarms (plus the service-health ones).
type Alarm struct {
	Name        string  `json:"name"`
	Metric      string  `json:"metric"`
	Comparison  string  `json:"comparison"`
	Threshold   float64 `json:"threshold"`
	Description string  `json:"description"`
}

// Alarms are the alarms for the given lines: CPU > 80 %, memory > 85 %,
// active users > 35 (the seed's), and the database and the storage failing.
// deploy/cloudwatch-alarms.yaml and deploy/prometheus-rules.yaml define the
// same ones; their tests hold them to this list.
func Alarms(cpuLine, memoryLine float64, activeUsers int) []Alarm {
	return []Alarm{
		{Name: "PythonIDE-HighCPU", Metric: MetricCPUUtilization, Comparison: GreaterThan, Threshold: cpuLine,
			Description: "CPU use is over the line: new runs wait in a queue and may be refused."},
		{Name: "PythonIDE-HighMemory", Metric: MetricMemoryUtilization, Comparison: GreaterThan, Threshold: memoryLine,
			Description: "Memory use is over the line: new runs are refused until it drops."},
		{Name: "PythonIDE-HighUserCount", Metric: MetricActiveUsers, Comparison: GreaterThan, Threshold: float64(activeUsers),
			Description: "More active users than the server was sized for."},
		{Name: "PythonIDE-DatabaseUnhealthy", Metric: MetricDatabaseHealthy, Comparison: LessThan, Threshold: 1,
			Description: "The database does not answer: logins and user changes fail; saving and running go on."},
		{Name: "PythonIDE-StorageUnavailable", Metric: MetricEFSMounted, Comparison: LessThan, Threshold: 1,
			Description: "The data volume fails a write-and-read probe: students' files cannot be saved."},
	}
}

// AlarmState is an alarm evaluated on the server's latest figures.
type AlarmState struct {
	Alarm
	Value  float64 `json:"value"`
	Known  bool    `json:"known"` // false: no reading yet
	Firing bool    `json:"firing"`
}

// Values are the headline figures by metric name, as CloudWatch gets them;
// a figure not measured yet (CPU before two readings, the checks before the
// first probe) is absent.
func Values(s monitor.Snapshot) map[string]float64 {
	v := map[string]float64{
		MetricActiveUsers:     float64(s.ActiveUsers()),
		MetricTotalProcesses:  0,
		MetricProcessMemoryMB: 0,
	}
	if s.Registry != nil {
		v[MetricTotalProcesses] = float64(s.Registry.Processes)
		v[MetricProcessMemoryMB] = float64(s.Registry.MemoryBytes) / (1 << 20)
	}
	most := 0
	for _, u := range s.Users {
		most = max(most, u.Processes)
	}
	v[MetricMaxProcsPerUser] = float64(most)
	if s.Probed {
		v[MetricDatabaseHealthy] = boolValue(s.Database.OK)
		v[MetricEFSMounted] = boolValue(s.Storage.OK)
	}
	if s.Usage.MemoryLimit > 0 {
		v[MetricMemoryUtilization] = s.Usage.MemoryPercent
	}
	if s.Usage.CPUKnown {
		v[MetricCPUUtilization] = s.Usage.CPUPercent
	}
	v[MetricRunsShed] = float64(s.Gate.RefusedCPU + s.Gate.RefusedMemory)
	return v
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// States evaluates alarms on s.
func States(s monitor.Snapshot, alarms []Alarm) []AlarmState {
	vals := Values(s)
	out := make([]AlarmState, 0, len(alarms))
	for _, a := range alarms {
		st := AlarmState{Alarm: a}
		st.Value, st.Known = vals[a.Metric]
		if st.Known {
			switch a.Comparison {
			case GreaterThan:
				st.Firing = st.Value > a.Threshold
			case LessThan:
				st.Firing = st.Value < a.Threshold
			}
		}
		out = append(out, st)
	}
	return out
}
