package registry

import "testing"

func TestSetStateRules(t *testing.T) {
	r, _ := newTest(t, DefaultLimits())
	admit(t, r, "a1", "alice", "Local/alice/a.py", KindScript)
	if r.SetState("a1", StateRunning) {
		t.Error("state set before Started")
	}
	if r.Sample("a1", MiB, 1) {
		t.Error("sample accepted before Started")
	}
	start(t, r, "a1")
	for _, s := range []State{StateStarting, "sleeping", ""} {
		if r.SetState("a1", s) {
			t.Errorf("SetState(%q) accepted", s)
		}
	}
	if r.SetState("gone", StateRunning) || r.Activity("gone") || r.Sample("gone", 1, 1) {
		t.Error("an unknown id was updated")
	}
	r.SetState("a1", StateWaitingInput)
	if p, _ := r.Get("a1"); p.Kind != KindScript {
		t.Errorf("waiting for input changed the kind to %s", p.Kind)
	}
	r.SetState("a1", StateIdle)
	if p, _ := r.Get("a1"); p.Kind != KindREPL || p.Path != "Local/alice/a.py" {
		t.Errorf("a script at the REPL prompt: %+v", p)
	}
	if st := r.Stats(); st.ByKind[KindREPL] != 1 || st.ByKind[KindScript] != 0 || st.ByState[StateIdle] != 1 {
		t.Errorf("stats: %+v", st)
	}
}
