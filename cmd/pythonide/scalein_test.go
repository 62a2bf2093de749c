package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestScaleInProtectionOnECS runs the real server as an ECS task does, with
// $ECS_AGENT_URI set by the agent — here a stand-in for the agent's
// task-protection endpoint: the task is protected while a program runs and
// released once it has ended.
func TestScaleInProtectionOnECS(t *testing.T) {
	dir := faultEnv(t)
	var mu sync.Mutex
	var states []bool
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ProtectionEnabled bool
			ExpiresInMinutes  int
		}
		if r.Method != http.MethodPut || r.URL.Path != "/api/task-1/task-protection/v1/state" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, `{"error":{"Code":"InvalidRequest"}}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		states = append(states, req.ProtectionEnabled)
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"protection": map[string]any{"ProtectionEnabled": req.ProtectionEnabled}})
	}))
	defer agent.Close()
	t.Setenv("ECS_AGENT_URI", agent.URL+"/api/task-1")
	seen := func() []bool {
		mu.Lock()
		defer mu.Unlock()
		return append([]bool(nil), states...)
	}

	data := filepath.Join(dir, "data")
	addUser(t, data, "alice", "alice-pw-1")
	addr := freeAddr(t)
	startServer(t, data, addr)
	alice := login(t, addr, "alice", "alice-pw-1")
	time.Sleep(time.Second) // the protector steps at once at start, with nothing running
	if got := seen(); len(got) != 0 {
		t.Fatalf("an idle task asked the agent for %v", got)
	}
	save(t, alice, addr, "Local/alice/wait.py", "input('? ')\n")
	ws := dialWS(t, alice, addr)
	ws.send(t, map[string]any{"type": "run", "id": "w", "path": "Local/alice/wait.py"})
	ws.until(t, "w", "input_request")
	if !waitFor(15*time.Second, func() bool { got := seen(); return len(got) == 1 && got[0] }) {
		t.Fatalf("a task running a program is not protected: %v", seen())
	}
	ws.send(t, map[string]any{"type": "stop", "id": "w"})
	ws.until(t, "w", "exit")
	if !waitFor(15*time.Second, func() bool { got := seen(); return len(got) == 2 && !got[1] }) {
		t.Fatalf("the protection outlived the last program: %v", seen())
	}
}
