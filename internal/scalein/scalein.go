// Package scalein keeps an Amazon ECS task from being chosen by a scale-in
// or a deployment while students' programs run on it. The ECS agent gives
// every task an endpoint for that ($ECS_AGENT_URI/task-protection/v1/state);
// the server marks itself protected while it runs programs, renews the
// protection before it expires, and clears it once the last program has
// ended, so the service scales in only tasks nobody works on. When the
// protection cannot be set (the agent does not answer, the task role lacks
// ecs:UpdateTaskProtection, the task is not part of a service), the server
// says so in its log and goes on: a scale-in then stops the task with a
// drain, as a deployment does.
package scalein

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// AgentEnv is the variable the ECS agent sets in every task's containers.
const AgentEnv = "ECS_AGENT_URI"

// Options configure a Protector.
type Options struct {
	AgentURI string      // $ECS_AGENT_URI
	Busy     func() bool // whether programs run on this instance now
	// Every is how often Busy is read (default 5 s): a task is protected
	// at most this long after its first program starts.
	Every time.Duration
	// Expires is how long the agent keeps a protection it is not told to
	// renew (default 10 minutes; renewed when half of it has passed), so
	// a server that dies does not leave its task protected for long.
	Expires time.Duration
	Client  *http.Client
}

func (o *Options) defaults() {
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Expires < time.Minute {
		o.Expires = 10 * time.Minute
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Second}
	}
}

// Protector sets and clears the task's scale-in protection.
type Protector struct {
	opts      Options
	log       *slog.Logger
	protected bool      // as last set
	renewAt   time.Time // when a set protection is renewed
	failing   bool      // the last request failed (logged once per streak)
}

// New returns a Protector; nil when not on ECS (no agent URI).
func New(o Options, log *slog.Logger) *Protector {
	if o.AgentURI == "" || o.Busy == nil {
		return nil
	}
	o.defaults()
	return &Protector{opts: o, log: log}
}

// Run keeps the protection in step with Busy until ctx ends.
func (p *Protector) Run(ctx context.Context) {
	t := time.NewTicker(p.opts.Every)
	defer t.Stop()
	for {
		p.Step(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step reads Busy once and tells the agent what changed (or renews).
func (p *Protector) Step(ctx context.Context, now time.Time) {
	busy := p.opts.Busy()
	switch {
	case busy && (!p.protected || !now.Before(p.renewAt)):
	case !busy && p.protected:
	default:
		return
	}
	if err := p.set(ctx, busy); err != nil {
		if !p.failing {
			p.log.Warn("ECS task scale-in protection could not be set; a scale-in may stop this task while programs run (it drains them first)",
				"protect", busy, "err", err)
		}
		p.failing = true
		return
	}
	if p.failing || p.protected != busy {
		p.log.Info("ECS task scale-in protection", "protected", busy)
	}
	p.failing, p.protected = false, busy
	p.renewAt = now.Add(p.opts.Expires / 2)
}

// Protected reports the protection as last set.
func (p *Protector) Protected() bool { return p.protected }

type request struct {
	ProtectionEnabled bool
	ExpiresInMinutes  int `json:",omitempty"`
}

func (p *Protector) set(ctx context.Context, on bool) error {
	body := request{ProtectionEnabled: on}
	if on {
		body.ExpiresInMinutes = int(p.opts.Expires / time.Minute)
	}
	b, _ := json.Marshal(body)
	url := strings.TrimSuffix(p.opts.AgentURI, "/") + "/task-protection/v1/state"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := p.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	// The agent answers {"protection": {...}} when it worked, and
	// {"failure": {...}} or {"error": {...}} (with any status) when not.
	var answer struct {
		Protection *struct{ ProtectionEnabled bool }
		Failure    json.RawMessage
		Error      json.RawMessage
	}
	_ = json.Unmarshal(raw, &answer)
	switch {
	case res.StatusCode/100 != 2:
		return fmt.Errorf("the ECS agent answered %s: %.300s", res.Status, raw)
	case answer.Failure != nil || answer.Error != nil:
		return fmt.Errorf("the ECS agent refused: %.300s", raw)
	case answer.Protection == nil || answer.Protection.ProtectionEnabled != on:
		return fmt.Errorf("the ECS agent's answer does not confirm the protection: %.300s", raw)
	}
	return nil
}
