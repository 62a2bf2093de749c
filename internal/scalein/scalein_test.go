package scalein

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// agent is a stand-in for the ECS agent's task-protection endpoint, as
// its documentation describes it.
type agent struct {
	mu       sync.Mutex
	requests []request
	refuse   bool
}

func (a *agent) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/v1/abc/task-protection/v1/state" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"error":{"Code":"InvalidRequest"}}`, http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req request
		if err := json.Unmarshal(b, &req); err != nil {
			http.Error(w, `{"error":{"Code":"InvalidRequest"}}`, http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.requests = append(a.requests, req)
		refuse := a.refuse
		a.mu.Unlock()
		if refuse {
			w.Write([]byte(`{"failure":{"Arn":"arn:aws:ecs:eu-west-1:1:task/x","Reason":"TASK_NOT_VALID"}}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"protection": map[string]any{
			"ProtectionEnabled": req.ProtectionEnabled, "TaskArn": "arn:aws:ecs:eu-west-1:1:task/x"}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/abc"
}

func (a *agent) got() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]request(nil), a.requests...)
}

func TestProtectionFollowsPrograms(t *testing.T) {
	a := &agent{}
	busy := false
	p := New(Options{AgentURI: a.serve(t), Busy: func() bool { return busy }, Expires: 10 * time.Minute}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	now := time.Now()

	p.Step(ctx, now) // idle from the start: nothing to clear
	if len(a.got()) != 0 {
		t.Fatalf("an idle task asked for %v", a.got())
	}
	busy = true
	p.Step(ctx, now)
	p.Step(ctx, now.Add(time.Minute)) // still protected: no request
	if got := a.got(); len(got) != 1 || !got[0].ProtectionEnabled || got[0].ExpiresInMinutes != 10 || !p.Protected() {
		t.Fatalf("programs started: %+v", got)
	}
	p.Step(ctx, now.Add(5*time.Minute)) // half the protection has passed: renewed
	if got := a.got(); len(got) != 2 || !got[1].ProtectionEnabled {
		t.Fatalf("not renewed: %+v", got)
	}
	busy = false
	p.Step(ctx, now.Add(6*time.Minute))
	if got := a.got(); len(got) != 3 || got[2].ProtectionEnabled || p.Protected() {
		t.Fatalf("the last program ended: %+v", got)
	}
}

// TestRefusedProtectionIsRetried: an agent that refuses (a task outside a
// service, a task role without the permission) leaves the task
// unprotected and is asked again at the next step.
func TestRefusedProtectionIsRetried(t *testing.T) {
	a := &agent{refuse: true}
	p := New(Options{AgentURI: a.serve(t), Busy: func() bool { return true }}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	p.Step(ctx, time.Now())
	if p.Protected() {
		t.Fatal("a refused protection counted as set")
	}
	a.mu.Lock()
	a.refuse = false
	a.mu.Unlock()
	p.Step(ctx, time.Now())
	if got := a.got(); len(got) != 2 || !p.Protected() {
		t.Fatalf("after the refusal: %+v, protected %v", got, p.Protected())
	}
}

func TestUnreachableAgent(t *testing.T) {
	p := New(Options{AgentURI: "http://127.0.0.1:1", Busy: func() bool { return true }}, slog.New(slog.DiscardHandler))
	p.Step(context.Background(), time.Now())
	if p.Protected() {
		t.Fatal("protected without an agent")
	}
}

func TestNotOnECS(t *testing.T) {
	if New(Options{Busy: func() bool { return true }}, slog.New(slog.DiscardHandler)) != nil {
		t.Fatal("a Protector without an agent URI")
	}
}
