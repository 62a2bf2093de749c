package monitor

import (
	"cmp"
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/degrade"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// Database is what the monitor needs of the store.
type Database interface {
	Ping(ctx context.Context) error
	Stats() sql.DBStats
	Dialect() string
}

// Options build a Monitor. Everything it reads is passed in.
type Options struct {
	DataDir  string             // where the storage probe writes (the data volume)
	Database Database           // nil: no database check
	Registry *registry.Registry // nil: programs are not run here
	Layers   *sandbox.Layers    // the sandbox's active layers; nil without a sandbox
	// Confinement, when set, says what the sandbox lost since start-up and
	// how the start-up self-test went.
	Confinement    func() Confinement
	OpenWebSockets func() int // nil: 0
	// WarmInterpreters counts the interpreters waiting for a run (they are
	// not in the registry); nil: 0.
	WarmInterpreters func() int
	Resources        *Resources      // nil: the real machine's
	Gate             degrade.Options // the degradation lines (also the CPU and memory alarms)
	// ActiveUsersAlarm is the seed's "active users > 35" line; default 35.
	ActiveUsersAlarm int
	SampleEvery      time.Duration // CPU and memory readings; default 2 s
	ProbeEvery       time.Duration // database and storage probes; default 15 s
	ProbeTimeout     time.Duration // default 3 s
	Log              *slog.Logger
	Now              func() time.Time
}

func (o *Options) defaults() {
	o.Gate.Defaults()
	if o.ActiveUsersAlarm == 0 {
		o.ActiveUsersAlarm = 35
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = 2 * time.Second
	}
	if o.ProbeEvery == 0 {
		o.ProbeEvery = 15 * time.Second
	}
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = 3 * time.Second
	}
	if o.Resources == nil {
		o.Resources = NewResources("/", nil)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Monitor keeps the latest readings and probe results and serves them to
// /health, the metrics and the EMF writer. It is safe for concurrent use.
type Monitor struct {
	opts    Options
	gate    *degrade.Gate
	started time.Time

	mu       sync.Mutex
	usage    Usage
	usageErr string
	db       Check
	storage  Check
	probed   bool
	probes   map[string]map[bool]int64 // check -> ok -> count
}

// New makes a monitor. Call Run (or Sample and Probe) to fill it.
func New(o Options) *Monitor {
	o.defaults()
	return &Monitor{
		opts: o, gate: degrade.New(o.Gate), started: o.Now(),
		probes: map[string]map[bool]int64{"database": {true: 0, false: 0}, "storage": {true: 0, false: 0}},
	}
}

// Gate is the degradation gate fed by this monitor's readings.
func (m *Monitor) Gate() *degrade.Gate { return m.gate }

// Sample takes a CPU and memory reading and hands it to the gate.
func (m *Monitor) Sample() Usage {
	u, err := m.opts.Resources.Read()
	m.mu.Lock()
	m.usage, m.usageErr = u, ""
	if err != nil {
		m.usageErr = err.Error()
	}
	m.mu.Unlock()
	m.gate.Update(degrade.Reading{At: u.At, MemoryPercent: u.MemoryPercent, MemoryLimit: u.MemoryLimit, CPUPercent: u.CPUPercent, CPUKnown: u.CPUKnown})
	return u
}

// Probe checks the database and the storage now, at the same time.
func (m *Monitor) Probe(ctx context.Context) {
	var wg sync.WaitGroup
	var db, st Check
	wg.Add(2)
	go func() {
		defer wg.Done()
		if m.opts.Database == nil {
			db = Check{OK: true, At: m.opts.Now()}
			return
		}
		db = timed(ctx, m.opts.ProbeTimeout, m.opts.Database.Ping)
	}()
	go func() {
		defer wg.Done()
		st = timed(ctx, m.opts.ProbeTimeout, func(context.Context) error { return ProbeStorage(m.opts.DataDir) })
	}()
	wg.Wait()
	m.mu.Lock()
	was := m.db.OK || !m.probed
	wasSt := m.storage.OK || !m.probed
	m.db, m.storage, m.probed = db, st, true
	m.probes["database"][db.OK]++
	m.probes["storage"][st.OK]++
	m.mu.Unlock()
	switch {
	case was && !db.OK:
		m.opts.Log.Error("the database does not answer; saving and running go on", "err", db.Err)
	case !was && db.OK:
		m.opts.Log.Info("the database answers again")
	}
	switch {
	case wasSt && !st.OK:
		m.opts.Log.Error("the storage probe failed: students' files cannot be saved", "dir", m.opts.DataDir, "err", st.Err)
	case !wasSt && st.OK:
		m.opts.Log.Info("the storage probe succeeds again")
	}
}

// Run samples and probes on their intervals until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	m.Sample()
	m.Probe(ctx)
	sample := time.NewTicker(m.opts.SampleEvery)
	defer sample.Stop()
	probe := time.NewTicker(m.opts.ProbeEvery)
	defer probe.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sample.C:
			m.Sample()
		case <-probe.C:
			m.Probe(ctx)
		}
	}
}

// UserLoad is one user's processes.
type UserLoad struct {
	User        string `json:"user"`
	Processes   int    `json:"processes"`
	MemoryBytes int64  `json:"memory_bytes"`
}

// ProcessCount is the number of processes of one kind in one state.
type ProcessCount struct {
	Kind  registry.Kind
	State registry.State
	N     int
}

// Snapshot is every figure at one moment, taken without probing.
type Snapshot struct {
	At          time.Time
	Uptime      time.Duration
	Usage       Usage
	UsageErr    string
	Registry    *registry.Stats // nil: programs are not run here
	Users       []UserLoad      // users with processes, busiest first
	Processes   []ProcessCount  // every kind × state, zeros included
	WebSockets  int
	Warm        int // interpreters waiting for a run
	Database    Check
	Dialect     string
	Pool        sql.DBStats
	Storage     Check
	Probed      bool // false until the first probe: checks are unknown, not failed
	Probes      map[string]map[bool]int64
	Layers      *sandbox.Layers
	Confinement Confinement
	Gate        degrade.State
}

// Confinement is the sandbox's state beyond its layers.
type Confinement struct {
	Lost            string // what confinement was lost since start-up, in words; "" if nothing
	CgroupRecreated int    // times the cgroup subtree vanished and was made again
	SelfTest        *Check // the start-up self-test; nil if it did not run
}

// ActiveUsers is the seed's "active concurrent users": users with the IDE
// open (a live connection), or with programs if more (a program outlives a
// dropped connection by the abandonment grace).
func (s Snapshot) ActiveUsers() int {
	if s.Registry == nil {
		return 0
	}
	return max(s.Registry.Connected, s.Registry.ActiveUsers)
}

// Fresh is a Snapshot with the database and the storage probed now (and a
// first reading of CPU and memory taken if none exists yet): what /health
// answers with.
func (m *Monitor) Fresh(ctx context.Context) Snapshot {
	m.mu.Lock()
	sampled := !m.usage.At.IsZero()
	m.mu.Unlock()
	if !sampled {
		m.Sample()
	}
	m.Probe(ctx)
	return m.Snapshot()
}

// Lines are the alarm thresholds this monitor works to: the degradation
// lines for CPU and memory (a line switched off keeps the seed's threshold:
// the alarm then only reports) and the active users' line.
func (m *Monitor) Lines() (cpuPercent, memoryPercent float64, activeUsers int) {
	line := func(v, seed float64) float64 {
		if v <= 0 {
			return seed
		}
		return v
	}
	return line(m.opts.Gate.CPUPercent, 80), line(m.opts.Gate.MemoryPercent, 85), m.opts.ActiveUsersAlarm
}

// Snapshot takes the current figures.
func (m *Monitor) Snapshot() Snapshot {
	m.mu.Lock()
	s := Snapshot{
		At: m.opts.Now(), Usage: m.usage, UsageErr: m.usageErr, Database: m.db, Storage: m.storage, Probed: m.probed,
		Probes: map[string]map[bool]int64{},
	}
	for k, v := range m.probes {
		s.Probes[k] = map[bool]int64{true: v[true], false: v[false]}
	}
	m.mu.Unlock()
	s.Uptime = s.At.Sub(m.started)
	if m.opts.Database != nil {
		s.Dialect, s.Pool = m.opts.Database.Dialect(), m.opts.Database.Stats()
	}
	if m.opts.OpenWebSockets != nil {
		s.WebSockets = m.opts.OpenWebSockets()
	}
	if m.opts.WarmInterpreters != nil {
		s.Warm = m.opts.WarmInterpreters()
	}
	s.Layers = m.opts.Layers
	if m.opts.Confinement != nil {
		s.Confinement = m.opts.Confinement()
	}
	s.Gate = m.gate.State()
	if m.opts.Registry != nil {
		st := m.opts.Registry.Stats()
		s.Registry = &st
		s.Users, s.Processes = loads(m.opts.Registry.Snapshot())
	}
	return s
}

var states = []registry.State{registry.StateStarting, registry.StateRunning, registry.StateWaitingInput, registry.StateIdle}

// loads groups processes by user and by kind × state.
func loads(ps []registry.Process) ([]UserLoad, []ProcessCount) {
	by := map[string]*UserLoad{}
	counts := map[ProcessCount]int{}
	for _, p := range ps {
		u := by[p.Owner]
		if u == nil {
			u = &UserLoad{User: p.Owner}
			by[p.Owner] = u
		}
		u.Processes++
		u.MemoryBytes += p.MemoryBytes
		counts[ProcessCount{Kind: p.Kind, State: p.State}]++
	}
	users := make([]UserLoad, 0, len(by))
	for _, u := range by {
		users = append(users, *u)
	}
	slices.SortFunc(users, func(a, b UserLoad) int {
		if c := cmp.Compare(b.Processes, a.Processes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.MemoryBytes, a.MemoryBytes); c != 0 {
			return c
		}
		return cmp.Compare(a.User, b.User)
	})
	var pc []ProcessCount
	for _, k := range registry.Kinds() {
		for _, st := range states {
			pc = append(pc, ProcessCount{Kind: k, State: st, N: counts[ProcessCount{Kind: k, State: st}]})
		}
	}
	return users, pc
}
