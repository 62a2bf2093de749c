// Package tracking keeps the seed's user_sessions rows current: which
// programs each logged-in user has running and what they use.
package tracking

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
)

// Tracker keeps the seed's user_sessions.active_processes and
// resource_usage current: an owner is marked when a process starts or ends,
// every owner with processes at each sweep, and marked owners are written
// in one batch a second (never on the request path). A database outage only
// delays the writes.
type Tracker struct {
	reg *registry.Registry
	st  *store.Store
	log *slog.Logger

	mu    sync.Mutex
	dirty map[string]bool
}

// NewTracker makes a tracker.
func NewTracker(reg *registry.Registry, st *store.Store, log *slog.Logger) *Tracker {
	return &Tracker{reg: reg, st: st, log: log, dirty: map[string]bool{}}
}

// Changed marks owner's row for the next write.
func (t *Tracker) Changed(owner string) {
	t.mu.Lock()
	t.dirty[owner] = true
	t.mu.Unlock()
}

// MarkAll marks every owner that has processes (after a sweep, so memory and
// CPU in the table stay current).
func (t *Tracker) MarkAll() {
	for _, p := range t.reg.Snapshot() {
		t.Changed(p.Owner)
	}
}

type processRow struct {
	ID          string    `json:"id"`
	Path        string    `json:"path"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	MemoryBytes int64     `json:"memory_bytes"`
	CPUSeconds  float64   `json:"cpu_seconds"`
}

type usage struct {
	ProcessCount  int     `json:"process_count"`
	TotalMemoryMB float64 `json:"total_memory_mb"`
	CPUSeconds    float64 `json:"cpu_seconds"`
}

// Flush writes every marked owner's row.
func (t *Tracker) Flush(ctx context.Context) error {
	t.mu.Lock()
	owners := t.dirty
	t.dirty = map[string]bool{}
	t.mu.Unlock()
	var firstErr error
	for owner := range owners {
		rows := []processRow{}
		var u usage
		for _, p := range t.reg.ByOwner(owner) {
			rows = append(rows, processRow{p.ID, p.Path, string(p.Kind), string(p.State), p.PID, p.StartedAt.UTC(), p.MemoryBytes, p.CPUSeconds})
			u.ProcessCount++
			u.TotalMemoryMB += float64(p.MemoryBytes) / (1 << 20)
			u.CPUSeconds += p.CPUSeconds
		}
		procs, _ := json.Marshal(rows)
		res, _ := json.Marshal(u)
		if err := t.st.UpdateSessionUsage(ctx, owner, procs, res); err != nil {
			t.Changed(owner) // try again next time
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// Run flushes every interval until ctx ends.
func (t *Tracker) Run(ctx context.Context, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := t.Flush(ctx); err != nil {
				t.log.Debug("session tracking not written; will retry", "err", err)
			}
		}
	}
}
