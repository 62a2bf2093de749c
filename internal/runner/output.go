package runner

import "time"

// outputBudget limits what one run may print: a total volume, and a rate
// (a token bucket: Burst bytes at once, refilled at Rate per second). A
// print loop blows through either within a second or two; a program that
// prints a lot, slowly, is left alone until the volume cap.
type outputBudget struct {
	total, maxTotal int64
	tokens, burst   float64
	rate            float64 // bytes per second
	at              time.Time
}

func newOutputBudget(maxTotal, rate, burst int64, now time.Time) *outputBudget {
	return &outputBudget{maxTotal: maxTotal, tokens: float64(burst), burst: float64(burst), rate: float64(rate), at: now}
}

// spend takes n bytes and reports whether the run is still within its budget.
func (b *outputBudget) spend(n int, now time.Time) bool {
	b.total += int64(n)
	if b.maxTotal > 0 && b.total > b.maxTotal {
		return false
	}
	if b.rate <= 0 {
		return true
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
	b.tokens -= float64(n)
	return b.tokens >= 0
}
