package registry

// The update calls take an id that may have been removed a moment ago (the
// process ended while its output was still being relayed); that is normal,
// so they report whether the id was held instead of failing.

// Activity records output produced or input received.
func (r *Registry) Activity(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil {
		return false
	}
	p.lastActivity = r.clock.Now()
	return true
}

// SetState records what a started process is doing: StateRunning,
// StateWaitingInput or StateIdle. It reports false for an unknown id, a
// process not yet Started, or any other state.
//
// StateIdle means "the REPL waits for a line", which a script only reaches
// once it has ended and its REPL taken over, so a script entering it
// becomes KindREPL.
func (r *Registry) SetState(id string, s State) bool {
	if s != StateRunning && s != StateWaitingInput && s != StateIdle {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil || p.state == StateStarting {
		return false
	}
	if p.state == s {
		return true
	}
	now := r.clock.Now()
	p.setState(s, now)
	// A prompt shown or a line read is the process doing something.
	p.lastActivity = now
	if s == StateIdle {
		p.kind = KindREPL
	}
	return true
}

// Sample records a measurement of a started process. CPU time that moved
// counts as activity: a long computation that prints nothing is not idle.
func (r *Registry) Sample(id string, memBytes int64, cpuSeconds float64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	if p == nil || p.state == StateStarting {
		return false
	}
	if cpuSeconds > p.cpu {
		p.lastActivity = r.clock.Now()
	}
	p.mem, p.cpu, p.sampled = memBytes, cpuSeconds, true
	r.recharge(p)
	return true
}

// Connected counts one more open connection (a browser tab) for owner.
func (r *Registry) Connected(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ownerOf(owner).conns++
}

// Disconnected counts one connection fewer. When the last one closes the
// abandonment grace starts; a Connected within it cancels it.
func (r *Registry) Disconnected(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.owners[owner]
	if o == nil || o.conns == 0 {
		return // unbalanced call: never let the count go negative
	}
	o.conns--
	if o.conns == 0 {
		o.since = r.clock.Now()
		r.forgetOwner(owner)
	}
}
