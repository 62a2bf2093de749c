package workspace

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pythonide/pythonide/internal/store/storetest"
)

// Two instances (two Workspaces on one data folder, each with its own
// in-memory locks) save the same file on the same version at once: with
// the database's shared lock, exactly one save wins each round.
func TestConditionalSaveHoldsAcrossInstances(t *testing.T) {
	st := storetest.Postgres(t)
	lock := func(key string, fn func() error) error { return st.WithLock(context.Background(), "save:"+key, fn) }
	f := newFixture(t, Options{SharedLock: lock})
	other, err := Open(f.dir, Options{SharedLock: lock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	info, err := f.write(alice, "Local/alice/shared.py", "v0", "")
	if err != nil {
		t.Fatal(err)
	}
	etag := info.ETag
	for round := range 20 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []FileInfo
		stale := 0
		for i, ws := range []*Workspace{f.ws, other, f.ws, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fi, err := ws.Write(alice, "Local/alice/shared.py", strings.NewReader("round "+strconv.Itoa(round)+" by "+strconv.Itoa(i)), etag)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, fi)
				case errors.Is(err, ErrStale):
					stale++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 || stale != 3 {
			t.Fatalf("round %d: %d saves won on one version (%d stale), want exactly 1", round, len(won), stale)
		}
		etag = won[0].ETag
	}
}
