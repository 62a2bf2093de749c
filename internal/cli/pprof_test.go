package cli

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProfilerHasBlockAndMutexProfiles: with --pprof-listen the block and
// mutex profiles record what waits, and stop turns them off.
func TestProfilerHasBlockAndMutexProfiles(t *testing.T) {
	addr, stop, err := servePprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Something to record: goroutines queueing on one mutex.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				mu.Lock()
				time.Sleep(20 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, name := range []string{"block", "mutex"} {
		res, err := http.Get("http://" + addr + "/debug/pprof/" + name + "?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), "TestProfilerHasBlockAndMutexProfiles") {
			t.Errorf("the %s profile does not show the queueing goroutines: %d\n%.600s", name, res.StatusCode, b)
		}
	}
}
