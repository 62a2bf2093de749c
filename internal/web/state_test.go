package web

import (
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// TestWorkspaceState keeps each user's IDE state apart, bounded, and only
// as a JSON object; another browser of the same user reads it back.
func TestWorkspaceState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r, _, alice, bob := classroom(t, st)
		if res := alice.do("GET", "/api/me/state", nil, nil); res.status != 200 || string(res.body) != "{}" {
			t.Fatalf("before any save: %d %s", res.status, res.body)
		}
		state := `{"tabs":["Local/alice/a.py","Local/alice/b.py"],"active":"Local/alice/b.py","tree":["Local/alice/hw"]}`
		if res := alice.do("PUT", "/api/me/state", []byte(state), map[string]string{"Content-Type": "application/json"}); res.status != 204 {
			t.Fatalf("save: %d %s", res.status, res.body)
		}
		other := r.login("alice") // another browser (this ends the first session by default)
		var got map[string]any
		other.do("GET", "/api/me/state", nil, nil).json(t, &got)
		if got["active"] != "Local/alice/b.py" {
			t.Fatalf("another browser reads %v", got)
		}
		if res := bob.do("GET", "/api/me/state", nil, nil); string(res.body) != "{}" {
			t.Fatalf("bob sees %s", res.body)
		}
		for _, bad := range []string{`[1,2]`, `"x"`, `null`, `{"a":`, ``} {
			if res := other.do("PUT", "/api/me/state", []byte(bad), nil); res.status != 400 {
				t.Errorf("state %q: %d %s", bad, res.status, res.body)
			}
		}
		huge := `{"x":"` + strings.Repeat("a", 64<<10) + `"}`
		if res := other.do("PUT", "/api/me/state", []byte(huge), nil); res.status != 413 {
			t.Errorf("a state over 64 KiB: %d %s", res.status, res.body)
		}
		other.do("GET", "/api/me/state", nil, nil).json(t, &got)
		if got["active"] != "Local/alice/b.py" {
			t.Fatalf("a refused save changed the state: %v", got)
		}
		if res := other.do("PUT", "/api/me/state", []byte(`{}`), map[string]string{"Origin": "https://evil.example"}); res.status != 403 {
			t.Errorf("a save from another site: %d", res.status)
		}
	})
}
