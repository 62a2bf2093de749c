package web

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMeasureIdleWebSocketMemory reports what one idle browser costs the
// server (heap and goroutine stacks, after a GC); a measurement for
// docs/benchmarks.md, not an assertion:
//
//	PYTHONIDE_MEASURE=1 go test -run MeasureIdleWebSocket -v ./internal/web
func TestMeasureIdleWebSocketMemory(t *testing.T) {
	if os.Getenv("PYTHONIDE_MEASURE") == "" {
		t.Skip("a measurement: set PYTHONIDE_MEASURE=1")
	}
	r, _, alice, _ := newClassRunRig(t, nil)
	mem := func() (heap, stack uint64, goroutines int) {
		var ms runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
	}
	h0, s0, g0 := mem()
	const n = 300
	for range n {
		conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(r.srv.URL, "http")+"/ws",
			&websocket.DialOptions{HTTPClient: alice.http, HTTPHeader: http.Header{"Origin": {r.srv.URL}}})
		if err != nil {
			t.Fatal(err)
		}
		conn.CloseRead(context.Background()) // a reader that discards: pongs are answered
		t.Cleanup(func() { conn.CloseNow() })
	}
	for deadline := time.Now().Add(wait); r.server.wsOpen.Load() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections open", r.server.wsOpen.Load(), n)
		}
	}
	time.Sleep(200 * time.Millisecond)
	h1, s1, g1 := mem()
	// The test's own client side (the library's state and a reader
	// goroutine per connection) is in these figures too.
	t.Logf("%d idle WebSockets, server and client in one process: heap %.1f KiB, stacks %.1f KiB, %.1f goroutines per connection",
		n, float64(h1-h0)/n/1024, float64(s1-s0)/n/1024, float64(g1-g0)/n)
}
