// Package cluster makes several instances of the server, sharing one
// PostgreSQL database and one data volume behind a load balancer, behave as
// one server for the class. It adds no coordination service of its own:
// every shared fact is a row in the database.
//
//   - Membership: each instance heartbeats its row (its id, the address its
//     peers reach it at, whether it drains); an instance whose heartbeat is
//     older than the lease is dead, and its processes and homes are dropped.
//   - Global admission: every process is a row; a run is admitted in one
//     transaction that all instances take in turn, against the class-wide
//     tally and the same limits the registry checks (registry.Limits.Check),
//     so two instances can never both take the last slot.
//   - Homes: all of a student's programs (and warm interpreter) live on one
//     instance, their home; a WebSocket that reaches another instance is
//     proxied to it whole (web), so input, Stop, re-attach and the REPL
//     reach the program whichever instance the balancer picked.
//   - Peers vouch for each other's requests with a secret kept in the
//     database: a proxied WebSocket, a teacher's table gathered from every
//     instance, a Stop forwarded to the instance that runs the program.
//
// With SQLite there is one instance and no Cluster (nil everywhere).
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/store"
)

// Options configure an instance's membership.
type Options struct {
	// ID names this instance (in the teacher's table, /health, /metrics);
	// default: host name, pid and a random suffix.
	ID string
	// Address is where the other instances reach this one (host:port, the
	// listen address of a server its peers can connect to).
	Address string
	// Lease is how long an instance without a heartbeat still counts as
	// alive; its processes free their slots after it. Default 15 s.
	Lease time.Duration
	// Beat is how often the heartbeat runs; default a third of the lease.
	Beat time.Duration
	// HomeGrace is how long a student's home stays claimed after their last
	// connection and process here are gone; default 60 s.
	HomeGrace time.Duration
}

func (o *Options) defaults() {
	if o.ID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		rand.Read(b[:])
		o.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Lease == 0 {
		o.Lease = 15 * time.Second
	}
	if o.Beat == 0 {
		o.Beat = o.Lease / 3
	}
	if o.HomeGrace == 0 {
		o.HomeGrace = 60 * time.Second
	}
}

// Cluster is this instance's membership.
type Cluster struct {
	st      *store.Store
	reg     *registry.Registry
	opts    Options
	secret  string
	started time.Time
	log     *slog.Logger
	client  *http.Client

	draining atomic.Bool
	// Present, when set, says whether owner still has a connection or a
	// process here; a home nobody is present at is given up after
	// HomeGrace.
	Present func(owner string) bool

	mu    sync.Mutex
	homes map[string]time.Time // owners whose home this is → when last seen present
}

// Join registers this instance and reads the peers' shared secret.
func Join(ctx context.Context, st *store.Store, reg *registry.Registry, opts Options, log *slog.Logger) (*Cluster, error) {
	opts.defaults()
	if opts.Address == "" {
		return nil, errors.New("cluster: this instance needs an address its peers can reach (--advertise)")
	}
	secret, err := st.ClusterSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the shared secret: %w", err)
	}
	c := &Cluster{st: st, reg: reg, opts: opts, secret: secret, started: time.Now(), log: log,
		client: &http.Client{Timeout: 10 * time.Second}, homes: map[string]time.Time{}}
	if err := c.beat(ctx); err != nil {
		return nil, fmt.Errorf("cluster: registering this instance: %w", err)
	}
	return c, nil
}

// ID names this instance.
func (c *Cluster) ID() string { return c.opts.ID }

// Lease is how long a silent instance still counts as alive.
func (c *Cluster) Lease() time.Duration { return c.opts.Lease }

// Run heartbeats until ctx ends.
func (c *Cluster) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.beat(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cluster heartbeat failed; the other instances will count this one dead after the lease", "err", err, "lease", c.opts.Lease)
			}
		}
	}
}

// beat is one heartbeat: this instance is alive (and drains or not), its
// processes' rows match what it holds, and homes nobody uses are given up.
func (c *Cluster) beat(ctx context.Context) error {
	if err := c.st.Heartbeat(ctx, store.Instance{ID: c.opts.ID, Address: c.opts.Address, StartedAt: c.started, Draining: c.draining.Load()}); err != nil {
		return err
	}
	ps, l, _ := c.reg.View()
	held := make([]store.LiveProcess, 0, len(ps))
	for _, p := range ps {
		held = append(held, store.LiveProcess{ID: p.ID, Charged: p.Charge(l), Counted: p.ReplacedBy == ""})
	}
	if err := c.st.SyncProcesses(ctx, c.opts.ID, held); err != nil {
		return err
	}
	return c.leaveUnusedHomes(ctx)
}

func (c *Cluster) leaveUnusedHomes(ctx context.Context) error {
	if c.Present == nil {
		return nil
	}
	now := time.Now()
	var leave []string
	c.mu.Lock()
	for owner, seen := range c.homes {
		switch {
		case c.Present(owner):
			c.homes[owner] = now
		case now.Sub(seen) > c.opts.HomeGrace:
			leave = append(leave, owner)
			delete(c.homes, owner)
		}
	}
	c.mu.Unlock()
	return c.st.LeaveHomes(ctx, c.opts.ID, leave)
}

// Leave forgets this instance at a clean shutdown, so its peers need not
// wait out the lease.
func (c *Cluster) Leave(ctx context.Context) error { return c.st.ForgetInstance(ctx, c.opts.ID) }

// Drain marks this instance as draining: new students get their home
// elsewhere, the balancer is told by /readyz, and the other instances by
// the next heartbeat (written at once).
func (c *Cluster) Drain(ctx context.Context) {
	if c.draining.Swap(true) {
		return
	}
	if err := c.beat(ctx); err != nil {
		c.log.Warn("telling the other instances that this one drains failed; the next heartbeat will", "err", err)
	}
}

// Draining reports whether Drain was called.
func (c *Cluster) Draining() bool { return c.draining.Load() }

// Admit admits req for the whole class against l, with the charge the
// registry would count for it (a new process counts at its full
// allowance). A refusal is the registry's (registry.ErrLimit kinds, the same
// words). When the database cannot be reached the run is admitted here
// alone: this instance's own registry still holds its limits, and a class
// must not stop running programs because the database hiccups.
func (c *Cluster) Admit(ctx context.Context, req registry.Request, l registry.Limits) error {
	_, err := c.st.AdmitProcess(ctx, store.LiveProcess{
		ID: req.ID, Instance: c.opts.ID, Owner: req.Owner, Path: req.Path, Kind: string(req.Kind), Charged: l.MemoryPerProc,
	}, c.opts.Lease, func(t store.Tally) error {
		return l.Check(registry.Counts{Mine: t.Mine, Users: t.Users, Total: t.Total, Charged: t.Charged})
	})
	if errors.Is(err, registry.ErrLimit) || errors.Is(err, store.ErrExists) {
		return err
	}
	if err != nil {
		c.log.Warn("class-wide admission is unavailable; admitting by this instance's own limits", "id", req.ID, "err", err)
	}
	return nil
}

// Ended forgets a process that ended (the heartbeat would too, later).
func (c *Cluster) Ended(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.st.RemoveProcess(ctx, id); err != nil {
		c.log.Debug("forgetting an ended process failed; the next heartbeat will", "id", id, "err", err)
	}
}

// Home says which instance hosts owner's programs — this one (local), or
// the peer at addr — claiming it for this instance when no live instance
// does. A new student is never given a draining instance.
func (c *Cluster) Home(ctx context.Context, owner string) (addr string, local bool, err error) {
	claimFor := c.opts.ID
	if c.draining.Load() {
		// Keep owners whose programs run here; send the others on, to a
		// peer that does not drain (or keep them, when none is left).
		if len(c.reg.ByOwner(owner)) > 0 {
			c.claimed(owner)
			return "", true, nil
		}
		if p, ok := c.successor(ctx, owner); ok {
			claimFor = p
			// Give up any claim here first (rows of programs that just
			// ended could still make it count).
			if err := c.st.LeaveHomes(ctx, c.opts.ID, []string{owner}); err != nil {
				return "", true, err
			}
		}
	}
	home, err := c.st.Home(ctx, owner, claimFor, c.opts.Lease)
	if err != nil {
		return "", true, err
	}
	if home == c.opts.ID {
		c.claimed(owner)
		return "", true, nil
	}
	peers, err := c.st.Instances(ctx, c.opts.Lease)
	if err != nil {
		return "", true, err
	}
	for _, p := range peers {
		if p.ID == home {
			return p.Address, false, nil
		}
	}
	return "", true, nil // it died between the two reads: serve here
}

// successor is the peer a draining instance gives a new student: one that
// does not drain, the same one for the same student (spread by name).
func (c *Cluster) successor(ctx context.Context, owner string) (string, bool) {
	peers, err := c.Peers(ctx)
	if err != nil {
		return "", false
	}
	var ok []string
	for _, p := range peers {
		if !p.Draining {
			ok = append(ok, p.ID)
		}
	}
	if len(ok) == 0 {
		return "", false
	}
	h := fnv.New32a()
	h.Write([]byte(owner))
	return ok[h.Sum32()%uint32(len(ok))], true
}

func (c *Cluster) claimed(owner string) {
	c.mu.Lock()
	c.homes[owner] = time.Now()
	c.mu.Unlock()
}

// Peers are the other live instances.
func (c *Cluster) Peers(ctx context.Context) ([]store.Instance, error) {
	all, err := c.st.Instances(ctx, c.opts.Lease)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, in := range all {
		if in.ID != c.opts.ID {
			out = append(out, in)
		}
	}
	return out, nil
}

// Where is the peer that runs process id, if another instance does.
func (c *Cluster) Where(ctx context.Context, id string) (addr string, ok bool) {
	ps, err := c.st.LiveProcesses(ctx, c.opts.Lease)
	if err != nil {
		return "", false
	}
	var inst string
	for _, p := range ps {
		if p.ID == id {
			inst = p.Instance
		}
	}
	if inst == "" || inst == c.opts.ID {
		return "", false
	}
	peers, _ := c.Peers(ctx)
	for _, p := range peers {
		if p.ID == inst {
			return p.Address, true
		}
	}
	return "", false
}

// Totals are the class's figures across every live instance.
type Totals struct {
	Instances []string `json:"instances"`
	Processes int      `json:"processes"`
	Users     int      `json:"users_with_programs"`
	Draining  []string `json:"draining,omitempty"`
}

// Totals reads them.
func (c *Cluster) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	ins, err := c.st.Instances(ctx, c.opts.Lease)
	if err != nil {
		return t, err
	}
	for _, in := range ins {
		t.Instances = append(t.Instances, in.ID)
		if in.Draining {
			t.Draining = append(t.Draining, in.ID)
		}
	}
	ps, err := c.st.LiveProcesses(ctx, c.opts.Lease)
	if err != nil {
		return t, err
	}
	users := map[string]bool{}
	for _, p := range ps {
		if p.Counted {
			t.Processes++
			users[p.Owner] = true
		}
	}
	t.Users = len(users)
	return t, nil
}

// PeerHeader carries the shared secret on a request one instance makes or
// forwards to another.
const PeerHeader = "X-Pythonide-Peer"

// Vouched reports whether r comes from a peer instance.
func (c *Cluster) Vouched(r *http.Request) bool {
	got := r.Header.Get(PeerHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.secret)) == 1
}
