package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// Sampling rates of the block and mutex profiles while the profiler is on:
// one blocking event per 10 µs spent blocked (on average), one contended
// mutex in 10 — enough to see what queues under a class's load, at a cost
// measured in docs/benchmarks.md.
const (
	blockProfileRate     = 10_000 // ns
	mutexProfileFraction = 10
)

// servePprof serves Go's profiler on its own loopback listener, never on
// the public one (profiles and goroutine dumps reveal internals), with the
// block and mutex profiles on. Used to profile the server under
// `pythonide loadtest`; stop turns them off again.
func servePprof(addr string, log *slog.Logger) (listening string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("cannot listen for the profiler on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	runtime.SetBlockProfileRate(blockProfileRate)
	runtime.SetMutexProfileFraction(mutexProfileFraction)
	go srv.Serve(ln)
	log.Warn("Go profiler listening, block and mutex profiles on (for diagnosis only)", "addr", ln.Addr().String())
	return ln.Addr().String(), func() {
		srv.Close()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}, nil
}
