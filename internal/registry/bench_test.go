package registry

import (
	"fmt"
	"testing"
	"time"
)

var benchSizes = []int{114, 10_000}

// benchRegistry holds n started processes, three per user, in a mix of
// states, with a few over a limit so the sweep has decisions to make.
func benchRegistry(b *testing.B, n int) (*Registry, *fakeClock) {
	b.Helper()
	l := DefaultLimits()
	l.MaxActiveUsers = n
	l.MaxTotal = 2 * n
	l.MemoryTotal = int64(2*n) * l.MemoryPerProc
	r, c := newTest(b, l)
	states := []State{StateRunning, StateWaitingInput, StateIdle}
	for i := range n {
		owner := fmt.Sprintf("user%d", i/3)
		id := fmt.Sprintf("p%d", i)
		if i%3 == 0 {
			r.Connected(owner)
		}
		admit(b, r, id, owner, fmt.Sprintf("Local/%s/f%d.py", owner, i%3), KindScript)
		if err := r.Started(id, i+1, 1); err != nil {
			b.Fatal(err)
		}
		r.SetState(id, states[i%len(states)])
		mem := int64(i%40) * MiB
		if i%50 == 0 {
			mem = l.MemoryPerProc + 1 // 2% over memory
		}
		r.Sample(id, mem, float64(i))
	}
	c.Advance(time.Minute)
	return r, c
}

// BenchmarkAdmit admits and removes one process beside n others, the cost
// a student pays on every run.
func BenchmarkAdmit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			r, _ := benchRegistry(b, n)
			r.Connected("bench")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				id := "bench" // ids can repeat: each is removed before the next
				if _, err := r.Admit(Request{ID: id, Owner: "bench", Path: "Local/bench/a.py", Kind: KindScript}); err != nil {
					b.Fatal(err)
				}
				r.Remove(id)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/held-process")
		})
	}
}

// BenchmarkView copies n processes out as the cleanup service does at
// each tick (its decisions over the copy are benchmarked in cleanup).
func BenchmarkView(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			r, _ := benchRegistry(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.View()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/process")
		})
	}
}

// BenchmarkSnapshot is the admin table's cost.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			r, _ := benchRegistry(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Snapshot()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/process")
		})
	}
}
