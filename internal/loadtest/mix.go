package loadtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Action is one thing a simulated student does between pauses.
type Action string

// The actions, in the order they are listed and reported.
const (
	ActList      Action = "list"      // list their home
	ActOpen      Action = "open"      // open a file (and check it holds what was saved)
	ActSave      Action = "save"      // autosave an edit with If-Match
	ActRun       Action = "run"       // save and run a script: output, input(), REPL, stop
	ActReconnect Action = "reconnect" // a run whose connection drops and re-attaches with since
	ActBusy      Action = "busy"      // a busy loop, stopped after a while
	ActMemory    Action = "memory"    // a memory hog, ended by the memory limit
	ActFlood     Action = "flood"     // a print flood, ended by the output limit
	ActType      Action = "type"      // the editor's syntax check and completion while typing (not in the default mix)
)

var actions = []Action{ActList, ActOpen, ActSave, ActRun, ActReconnect, ActBusy, ActMemory, ActFlood, ActType}

// Mix is how often each action is chosen, as relative weights.
type Mix map[Action]int

// DefaultMix is a class at work: mostly editing with autosave, regular
// runs, now and then a heavy program or a dropped connection.
func DefaultMix() Mix {
	return Mix{ActList: 4, ActOpen: 4, ActSave: 20, ActRun: 6, ActReconnect: 2, ActBusy: 1, ActMemory: 1, ActFlood: 1}
}

// ParseMix reads "save=20,run=6,…". Actions not named get weight 0, so a
// mix can single one out ("run=1").
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("--mix: %q is not action=weight", part)
		}
		a := Action(strings.TrimSpace(name))
		if !slices.Contains(actions, a) {
			return nil, fmt.Errorf("--mix: unknown action %q (known: %s)", a, actionNames())
		}
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 0 || n > 1000000 {
			return nil, fmt.Errorf("--mix: weight of %s must be a whole number from 0 to 1000000", a)
		}
		m[a] = n
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("--mix %q gives every action weight 0", s)
	}
	return m, nil
}

func actionNames() string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// String writes the mix back in the form ParseMix reads, in a fixed order.
func (m Mix) String() string {
	var parts []string
	for _, a := range actions {
		if m[a] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", a, m[a]))
		}
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() int {
	t := 0
	for _, a := range actions {
		t += m[a]
	}
	return t
}

// pick chooses an action with probability proportional to its weight.
func (m Mix) pick(rng *rand.Rand) Action {
	n := rng.IntN(m.total())
	for _, a := range actions {
		if n < m[a] {
			return a
		}
		n -= m[a]
	}
	return actions[len(actions)-1] // unreachable while total() > 0
}
