// Package health is the model behind GET /health: it turns the monitor's
// figures into one answer to "can the class go on?" — ok, degraded (the
// class goes on, something needs an operator) or unhealthy (students' work
// cannot be saved) — with the reasons in words an operator acts on, and the
// detail: CPU, memory, users, processes, database, storage, confinement,
// degradation, alarms and limits.
package health

import (
	"context"
	"fmt"
	"github.com/pythonide/pythonide/internal/alarms"
	"github.com/pythonide/pythonide/internal/degrade"
	"github.com/pythonide/pythonide/internal/monitor"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// Status is the one-word answer to "can the class go on?".
type Status string

const (
	StatusOK        Status = "ok"        // everything works
	StatusDegraded  Status = "degraded"  // the class goes on, with something to look at (200)
	StatusUnhealthy Status = "unhealthy" // students' work cannot be saved (503)
)

// Reason says why the status is not ok, in words an operator acts on.
type Reason struct {
	Check   string `json:"check"`
	Message string `json:"message"`
}

// Report is the body of GET /health.
type Report struct {
	Status        Status    `json:"status"`
	Reasons       []Reason  `json:"reasons"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	CheckedAt     time.Time `json:"checked_at"`

	CPU         CPUReport           `json:"cpu"`
	Memory      MemoryReport        `json:"memory"`
	Users       UsersReport         `json:"users"`
	Processes   *ProcessesReport    `json:"processes,omitempty"`
	Database    DatabaseReport      `json:"database"`
	Storage     CheckReport         `json:"storage"`
	Sandbox     *SandboxReport      `json:"sandbox,omitempty"`
	Degradation degrade.State       `json:"degradation"`
	Alarms      []alarms.AlarmState `json:"alarms"`
	Limits      *LimitsReport       `json:"limits,omitempty"`
	// Instance names the server that answered, and Cluster is the class
	// across every instance, when several share the database.
	Instance string         `json:"instance,omitempty"`
	Cluster  *ClusterReport `json:"cluster,omitempty"`
}

// ClusterReport is the class across every live instance.
type ClusterReport struct {
	Instances         []string `json:"instances"`
	Draining          []string `json:"draining,omitempty"`
	Processes         int      `json:"processes"`
	UsersWithPrograms int      `json:"users_with_programs"`
	Error             string   `json:"error,omitempty"`
}

// CPUReport is the server's CPU against what it may use.
type CPUReport struct {
	Percent *float64 `json:"percent"` // null until two readings exist
	Cores   float64  `json:"limit_cores"`
	Source  string   `json:"source"`
}

// MemoryReport is the server's memory (working set) against its limit.
type MemoryReport struct {
	Percent    float64 `json:"percent"`
	UsedBytes  int64   `json:"used_bytes"`
	LimitBytes int64   `json:"limit_bytes"`
	Source     string  `json:"source"`
	Error      string  `json:"error,omitempty"`
}

// UsersReport counts users.
type UsersReport struct {
	Active        int `json:"active"`          // the ActiveUsers metric
	Connected     int `json:"connected"`       // with an open IDE connection
	WithPrograms  int `json:"with_programs"`   // with processes counting against the limits
	Limit         int `json:"limit"`           // users who may have programs at once
	Headroom      int `json:"headroom"`        // more users who could start programs
	OpenWebSocket int `json:"open_websockets"` // connections (a user may have several tabs)
}

// ProcessesReport is the students' processes.
type ProcessesReport struct {
	Total              int                     `json:"total"`
	ByKind             map[registry.Kind]int   `json:"by_kind"`
	ByState            map[registry.State]int  `json:"by_state"`
	Headroom           int                     `json:"headroom"`
	MemoryBytes        int64                   `json:"memory_bytes"`
	MemoryByKind       map[registry.Kind]int64 `json:"memory_by_kind_bytes"`
	MemoryHeadroom     int64                   `json:"memory_headroom_bytes"`
	BusiestUsers       []monitor.UserLoad      `json:"busiest_users,omitempty"`
	ReplacingProcesses int                     `json:"replacing"`
	Warm               int                     `json:"warm"` // interpreters waiting for a run, not counted above
}

// LimitsReport is the registry's limits in force.
type LimitsReport struct {
	MaxUsers         int   `json:"max_users"`
	MaxProcesses     int   `json:"max_processes"`
	MaxPerUser       int   `json:"max_processes_per_user"`
	MemoryPerProcess int64 `json:"memory_per_process_bytes"`
	MemoryTotal      int64 `json:"memory_total_bytes"`
	WallClockSeconds int64 `json:"wall_clock_seconds"`
	IdleTimeoutSecs  int64 `json:"idle_timeout_seconds"`
	AbandonGraceSecs int64 `json:"abandon_grace_seconds"`
}

// CheckReport is one probe's result.
type CheckReport struct {
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// DatabaseReport is the database probe and the connection pool.
type DatabaseReport struct {
	CheckReport
	Dialect string     `json:"dialect,omitempty"`
	Pool    PoolReport `json:"pool"`
}

// PoolReport is database/sql's pool statistics.
type PoolReport struct {
	Open        int     `json:"open"`
	InUse       int     `json:"in_use"`
	Idle        int     `json:"idle"`
	MaxOpen     int     `json:"max_open"`
	WaitCount   int64   `json:"wait_count"`
	WaitSeconds float64 `json:"wait_seconds"`
}

// SandboxReport is the confinement layers active.
type SandboxReport struct {
	Cgroup     string `json:"cgroup"`
	Namespaces bool   `json:"namespaces"`
	Landlock   bool   `json:"landlock"`
	Seccomp    bool   `json:"seccomp"`
	Rlimits    bool   `json:"rlimits"`
	UIDDrop    bool   `json:"uid_drop"`
	Confined   bool   `json:"confined"`
	Staged     bool   `json:"staged"`
	CPU        string `json:"cpu"` // v2, v1 (cgroup weights) or nice
	// SelfTest is the tiny confined program run before the server said it
	// was ready (serve does not start when it fails).
	SelfTest        *CheckReport `json:"self_test,omitempty"`
	Lost            string       `json:"lost,omitempty"` // confinement lost since start-up
	CgroupRecreated int          `json:"cgroup_recreated"`
}

// Of probes the database and the storage now and reports on m.
func Of(ctx context.Context, m *monitor.Monitor) Report {
	return Evaluate(m.Fresh(ctx), alarms.For(m))
}

func checkReport(c monitor.Check) CheckReport {
	return CheckReport{OK: c.OK, LatencyMS: float64(c.Latency.Microseconds()) / 1000, Error: c.Err}
}

// Evaluate turns a snapshot into the health report: unhealthy when
// students' files cannot be saved; degraded when the class goes on but
// something needs an operator (the database, a degradation line, a limit
// reached, an alarm); ok otherwise.
func Evaluate(s monitor.Snapshot, list []alarms.Alarm) Report {
	r := Report{
		Status: StatusOK, Reasons: []Reason{}, UptimeSeconds: int64(s.Uptime.Seconds()), CheckedAt: s.At.UTC(),
		CPU: CPUReport{Cores: s.Usage.CPUCores, Source: s.Usage.CPUSource},
		Memory: MemoryReport{Percent: s.Usage.MemoryPercent, UsedBytes: s.Usage.MemoryUsed, LimitBytes: s.Usage.MemoryLimit,
			Source: s.Usage.MemorySource, Error: s.UsageErr},
		Database: DatabaseReport{CheckReport: checkReport(s.Database), Dialect: s.Dialect, Pool: PoolReport{
			Open: s.Pool.OpenConnections, InUse: s.Pool.InUse, Idle: s.Pool.Idle, MaxOpen: s.Pool.MaxOpenConnections,
			WaitCount: s.Pool.WaitCount, WaitSeconds: s.Pool.WaitDuration.Seconds()}},
		Storage:     checkReport(s.Storage),
		Degradation: s.Gate,
		Alarms:      alarms.States(s, list),
	}
	if s.Usage.CPUKnown {
		p := s.Usage.CPUPercent
		r.CPU.Percent = &p
	}
	if l := s.Layers; l != nil {
		r.Sandbox = &SandboxReport{Cgroup: l.Cgroup, Namespaces: l.Namespaces, Landlock: l.Landlock, Seccomp: l.Seccomp,
			Rlimits: l.Rlimits, UIDDrop: l.UIDDrop, Confined: l.Confined(), Staged: l.Staged, CPU: l.CPU,
			Lost: s.Confinement.Lost, CgroupRecreated: s.Confinement.CgroupRecreated}
		if st := s.Confinement.SelfTest; st != nil {
			c := checkReport(*st)
			r.Sandbox.SelfTest = &c
		}
	}
	r.Users = UsersReport{Active: s.ActiveUsers(), OpenWebSocket: s.WebSockets}
	if st := s.Registry; st != nil {
		l := st.Limits
		r.Users.Connected, r.Users.WithPrograms, r.Users.Limit, r.Users.Headroom = st.Connected, st.ActiveUsers, l.MaxActiveUsers, st.Headroom.Users
		r.Processes = &ProcessesReport{
			Total: st.Processes, ByKind: st.ByKind, ByState: st.ByState, Headroom: st.Headroom.Processes,
			MemoryBytes: st.MemoryBytes, MemoryByKind: st.MemoryByKind, MemoryHeadroom: st.Headroom.MemoryBytes,
			ReplacingProcesses: st.Replacing, BusiestUsers: s.Users[:min(len(s.Users), 5)], Warm: s.Warm,
		}
		r.Limits = &LimitsReport{
			MaxUsers: l.MaxActiveUsers, MaxProcesses: l.MaxTotal, MaxPerUser: l.MaxPerUser,
			MemoryPerProcess: l.MemoryPerProc, MemoryTotal: l.MemoryTotal, WallClockSeconds: int64(l.WallClock.Seconds()),
			IdleTimeoutSecs: int64(l.IdleTimeout.Seconds()), AbandonGraceSecs: int64(l.AbandonGrace.Seconds()),
		}
	}

	worse := func(st Status, check, format string, a ...any) {
		if st == StatusUnhealthy || r.Status == StatusOK {
			r.Status = st
		}
		r.Reasons = append(r.Reasons, Reason{Check: check, Message: fmt.Sprintf(format, a...)})
	}
	if s.Probed && !s.Storage.OK {
		worse(StatusUnhealthy, "storage", "The data volume fails a write-and-read probe: students' files cannot be saved.")
	}
	if s.Confinement.Lost != "" {
		worse(StatusDegraded, "sandbox", "%s", s.Confinement.Lost)
	}
	if st := s.Confinement.SelfTest; st != nil && !st.OK {
		worse(StatusDegraded, "sandbox", "The start-up self-test could not run a confined program: students' programs may fail.")
	}
	if s.Probed && !s.Database.OK {
		worse(StatusDegraded, "database", "The database does not answer: logging in and managing users fail; saving and running go on for users already logged in.")
	}
	switch s.Gate.Shedding {
	case "memory":
		worse(StatusDegraded, "memory", "Memory use is %.0f%%, over the %.0f%% line: new programs are refused; running ones go on.", s.Usage.MemoryPercent, s.Gate.MemoryLine)
	case "cpu":
		worse(StatusDegraded, "cpu", "CPU use is over the %.0f%% line: new programs wait up to %.0f s in a queue (%d waiting).", s.Gate.CPULine, s.Gate.QueueWaitSecs, s.Gate.Waiting)
	}
	if st := s.Registry; st != nil {
		if st.Headroom.Processes == 0 {
			worse(StatusDegraded, "processes", "The limit of %d programs at once is reached: new programs are refused.", st.Limits.MaxTotal)
		}
		if st.Headroom.Users == 0 {
			worse(StatusDegraded, "users", "The limit of %d users running programs at once is reached: other users' programs are refused.", st.Limits.MaxActiveUsers)
		}
	}
	if s.UsageErr != "" && s.Usage.MemoryLimit == 0 {
		worse(StatusDegraded, "resources", "CPU and memory cannot be read, so the degradation lines do not act.")
	}
	for _, a := range r.Alarms {
		if a.Firing && (a.Metric == alarms.MetricActiveUsers) {
			worse(StatusDegraded, "alarm", "%s: %s (%.0f > %.0f).", a.Name, a.Description, a.Value, a.Threshold)
		}
	}
	return r
}

// Public is the report without what identifies people or reveals internals
// (user names, error texts), for callers who are not operators.
func (r Report) Public() Report {
	p := r
	if r.Processes != nil {
		pr := *r.Processes
		pr.BusiestUsers = nil
		p.Processes = &pr
	}
	p.Database.Error, p.Storage.Error, p.Memory.Error = "", "", ""
	if r.Sandbox != nil {
		sb := *r.Sandbox
		if sb.SelfTest != nil {
			st := *sb.SelfTest
			st.Error = ""
			sb.SelfTest = &st
		}
		p.Sandbox = &sb
	}
	return p
}
