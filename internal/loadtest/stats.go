package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Op names a measured operation, as reported.
type Op string

// The measured operations.
const (
	OpLogin       Op = "login"        // POST /api/login
	OpList        Op = "list"         // GET /api/files
	OpOpen        Op = "open"         // GET /api/files/content
	OpSave        Op = "save"         // PUT /api/files/content with If-Match
	OpFirstOutput Op = "first_output" // run sent → first stdout of the program
	OpInput       Op = "input_rtt"    // a line sent to input() → the program's answer printed
	OpREPL        Op = "repl_rtt"     // a REPL line sent → its output printed
	OpStop        Op = "stop"         // stop sent → exit received
	OpReconnect   Op = "reconnect"    // a new connection dialled → the first re-attached message
	OpCheck       Op = "check"        // POST /api/assist/check: the editor's syntax check
	OpComplete    Op = "complete"     // POST /api/assist/complete: jedi's completions
	// OpCompleteSkipped is a completion the server skipped (every
	// completer busy): answered at once, but without names.
	OpCompleteSkipped Op = "complete_skipped"
	// OpCompleteLimited is a completion a shared completer answered
	// (every home's completer in use): names, but none of the home's.
	OpCompleteLimited Op = "complete_limited"
)

var ops = []Op{OpLogin, OpList, OpOpen, OpSave, OpFirstOutput, OpInput, OpREPL, OpStop, OpReconnect, OpCheck, OpComplete, OpCompleteLimited, OpCompleteSkipped}

// maxSamples bounds what one operation keeps: beyond it the samples are a
// uniform reservoir, so a long run's memory stays flat; count, mean and max
// stay exact.
const maxSamples = 1 << 18

// recorder collects latencies; safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	rng *rand.Rand
	by  map[Op]*series
}

type series struct {
	samples []time.Duration
	count   int
	sum     time.Duration
	max     time.Duration
}

func newRecorder(seed uint64) *recorder {
	return &recorder{rng: rand.New(rand.NewPCG(seed, 0x10ad7e57)), by: map[Op]*series{}}
}

func (r *recorder) add(op Op, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.by[op]
	if s == nil {
		s = &series{}
		r.by[op] = s
	}
	s.count++
	s.sum += d
	s.max = max(s.max, d)
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, d)
	} else if i := r.rng.IntN(s.count); i < maxSamples {
		s.samples[i] = d
	}
}

// OpStats is one operation's latencies in milliseconds.
type OpStats struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (r *recorder) summary() map[Op]OpStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[Op]OpStats{}
	for op, s := range r.by {
		sorted := slices.Clone(s.samples)
		slices.Sort(sorted)
		out[op] = OpStats{
			Count: s.count, Mean: ms(s.sum / time.Duration(max(s.count, 1))),
			P50: ms(Percentile(sorted, 50)), P95: ms(Percentile(sorted, 95)),
			P99: ms(Percentile(sorted, 99)), Max: ms(s.max),
		}
	}
	return out
}

// Percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted
// samples: the smallest sample with at least p % of all samples at or below
// it. It is always a measured value, never an interpolation; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000
}
