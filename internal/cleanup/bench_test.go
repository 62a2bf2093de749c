package cleanup

import (
	"fmt"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/registry"
)

// BenchmarkSweep is one tick's decision over n held processes (the
// registry's View and Decide), the cleanup service's cost per sweep.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{114, 10000} {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			l := registry.DefaultLimits()
			l.MaxActiveUsers, l.MaxTotal, l.MemoryTotal = n, 2*n, int64(2*n)*l.MemoryPerProc
			r, c := newTest(b, l)
			states := []registry.State{registry.StateRunning, registry.StateWaitingInput, registry.StateIdle}
			for i := range n {
				owner := fmt.Sprintf("user%d", i/3)
				if i%3 == 0 {
					r.Connected(owner)
				}
				id := fmt.Sprintf("p%d", i)
				run(b, r, id, owner, fmt.Sprintf("Local/%s/f%d.py", owner, i%3))
				r.SetState(id, states[i%len(states)])
				mem := int64(i%40) * registry.MiB
				if i%50 == 0 {
					mem = l.MemoryPerProc + 1 // 2% over memory
				}
				r.Sample(id, mem, float64(i))
			}
			c.Advance(time.Minute)
			if len(sweep(r)) == 0 {
				b.Fatal("nothing to decide")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				sweep(r)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/process")
		})
	}
}
