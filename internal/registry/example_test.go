package registry_test

import (
	"fmt"
	"time"

	"github.com/pythonide/pythonide/internal/cleanup"
	"github.com/pythonide/pythonide/internal/registry"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// The life of one run, as the runner and the cleanup service drive it.
func Example() {
	c := &clock{t: time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)}
	reg, err := registry.New(registry.DefaultLimits(), c)
	if err != nil {
		panic(err)
	}

	// The WebSocket opens.
	reg.Connected("alice")

	// Register before spawning; stop and Remove whatever it replaces.
	replaced, err := reg.Admit(registry.Request{ID: "alice/1", Owner: "alice", Path: "Local/alice/hw1.py", Kind: registry.KindScript})
	if err != nil {
		fmt.Println("refused:", err) // a *fault.Error: the web layer sends its code and message
		return
	}
	fmt.Println("replaced:", replaced)

	// The sandbox spawned it.
	if err := reg.Started("alice/1", 4242, 123456); err != nil {
		panic(err) // the entry is gone: the runner would stop what it spawned
	}
	reg.SetState("alice/1", registry.StateWaitingInput) // input() called
	c.t = c.t.Add(11 * time.Minute)

	// The cleanup service's tick: decide from the registry's view, stop
	// each decision, then Remove it.
	for _, d := range cleanup.Decide(reg.View()) {
		p, _ := reg.Remove(d.ID)
		fmt.Printf("stop %s (pid %d): %s: %s\n", d.ID, p.PID, d.Reason, d.Message)
	}
	// Output:
	// replaced: <nil>
	// stop alice/1 (pid 4242): idle: Stopped: your program waited more than 10 minutes for input.
}
