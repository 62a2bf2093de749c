package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Provisioner makes the students' accounts, or sets the password of those
// that exist already, so that every run starts from known credentials.
type Provisioner interface {
	Provision(ctx context.Context, usernames []string, password string) error
}

// test is one load test in progress: what every student reports into.
type test struct {
	cfg      Config
	lat      *recorder
	errs     *tally
	out      outputTally
	exits    counts
	actions  counts
	attempts atomic.Int64
	active   atomic.Int64
	// slowDrops counts connections the server closed as too slow (the
	// student re-attached); replayLost the flood messages that left the
	// bounded log before the student read them.
	slowDrops  atomic.Int64
	replayLost atomic.Int64
	// stopRaces counts stops that crossed the program's own end: the
	// server answered not_found, then the exit came.
	stopRaces atomic.Int64
}

// Names are the students' usernames for cfg.
func Names(cfg Config) []string {
	width := max(3, len(strconv.Itoa(cfg.Users)))
	names := make([]string, cfg.Users)
	for i := range names {
		names[i] = fmt.Sprintf("%s%0*d", cfg.UserPrefix, width, i+1)
	}
	return names
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// Run prepares the students, lets them work, and reports. progress, when
// not nil, gets a line every ten seconds. The run ends at Ramp+Duration;
// what is still in flight then gets OpTimeout to finish, and ctx ends it
// all at once.
func Run(ctx context.Context, cfg Config, prov Provisioner, progress io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Password == "" {
		cfg.Password = "lt-" + randomHex(12)
	}
	if cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{Version: reportVersion, Started: time.Now().UTC(), Config: reportConfig(cfg)}
	names := Names(cfg)
	setup := time.Now()
	fmt.Fprintf(progress, "preparing %d students (%s … %s)\n", len(names), names[0], names[len(names)-1])
	if err := prov.Provision(ctx, names, cfg.Password); err != nil {
		return nil, fmt.Errorf("preparing the students: %w", err)
	}
	rep.SetupSeconds = roundTo(time.Since(setup).Seconds(), 2)
	rep.Baseline = baseline(cfg)

	lt := &test{cfg: cfg, lat: newRecorder(cfg.Seed), errs: newTally()}
	// Finding the server's process reads /proc, which can take a while on
	// a busy machine: before the class's time starts, not out of it.
	mon, monErr := lt.watch(cfg)
	began := time.Now()
	end := began.Add(cfg.Ramp + cfg.Duration)
	hard, cancel := context.WithDeadline(ctx, end.Add(cfg.OpTimeout+10*time.Second))
	defer cancel()

	monCtx, stopMon := context.WithCancel(hard)
	var monDone sync.WaitGroup
	if mon != nil {
		mon.began = began
		monDone.Go(func() { mon.run(monCtx) })
	}

	transport := &http.Transport{
		MaxIdleConns: 2 * cfg.Users, MaxIdleConnsPerHost: 2 * cfg.Users, IdleConnTimeout: 90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	var wg sync.WaitGroup
	for i, name := range names {
		s := &student{
			lt: lt, name: name, password: cfg.Password, home: "Local/" + name,
			nonce: fmt.Sprintf("%s-%s", name, randomHex(4)),
			rng:   mrand.New(mrand.NewPCG(cfg.Seed, uint64(i))),
			http:  newClient(cfg.URL, transport), runTags: map[string]string{}, abandoned: map[string]bool{},
		}
		arrival := time.Duration(0)
		if cfg.Users > 1 {
			arrival = cfg.Ramp * time.Duration(i) / time.Duration(cfg.Users-1)
		}
		wg.Go(func() { s.session(hard, end, arrival) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	lt.report(progress, began, finished)

	stopMon()
	monDone.Wait()
	rep.Elapsed = roundTo(time.Since(began).Seconds(), 2)
	lt.fill(rep)
	switch {
	case mon != nil:
		rep.Server = mon.stats()
	case monErr != nil:
		rep.Server = &ServerStats{Error: monErr.Error()}
	}
	return rep, nil
}

// watch finds the server process to sample.
func (lt *test) watch(cfg Config) (*monitor, error) {
	pid := cfg.ServerPID
	if pid == 0 {
		u, _ := url.Parse(cfg.URL) // checked by Validate
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("the server is on another machine: its CPU and memory are not measured")
		}
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[u.Scheme]
		}
		var err error
		if pid, err = FindListener(port); err != nil {
			return nil, err
		}
	}
	if _, err := readProc(pid); err != nil {
		return nil, fmt.Errorf("cannot read process %d: %w", pid, err)
	}
	keep := int((cfg.Ramp+cfg.Duration)/cfg.SampleEvery) + int(cfg.OpTimeout/cfg.SampleEvery) + 100
	return &monitor{pid: pid, every: cfg.SampleEvery, maxKeep: keep,
		active: func() int { return int(lt.active.Load()) }}, nil
}

// report prints progress until the students are done.
func (lt *test) report(w io.Writer, began time.Time, finished <-chan struct{}) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-finished:
			return
		case <-t.C:
			f, r, _ := lt.errs.snapshot()
			fmt.Fprintf(w, "%4.0fs  %d students  %d actions  %d failures  %d refusals\n",
				time.Since(began).Seconds(), lt.active.Load(), lt.attempts.Load(), sum(f), sum(r))
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// baseline times the bare interpreter starting and printing, on this
// machine, for comparison with run → first output.
func baseline(cfg Config) *Baseline {
	if cfg.BaselinePython == "" {
		return nil
	}
	if u, _ := url.Parse(cfg.URL); !isLoopback(u.Hostname()) {
		return nil // another machine's interpreter is what matters there
	}
	if _, err := os.Stat(cfg.BaselinePython); err != nil {
		return nil
	}
	const runs = 7
	var took []time.Duration
	for range runs {
		start := time.Now()
		if err := exec.Command(cfg.BaselinePython, "-c", "print(1)").Run(); err != nil {
			return nil
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return &Baseline{Python: cfg.BaselinePython, Runs: runs, P50: ms(Percentile(took, 50)), Min: ms(took[0])}
}
