package capacity

// Defaults are the figures `pythonide capacity --measure` measured on the
// development machine (2 cores, cgroup v1 memory with bubblewrap, seccomp,
// rlimits and the uid drop; Python 3.11; medians of 7 runs, while other test
// suites loaded the machine to a load average of 16, which inflates the wall
// time; single unloaded runs took 0.09 s CPU and 0.35 s to start). The server's
// share is estimated from its configured buffers (a 256 KiB replay buffer
// per process; a 256-message queue and a 256 KiB read limit per WebSocket),
// not measured here: the load generator measures the server under a class.
func Defaults() Figures {
	return Figures{
		StartCPUSeconds:    0.189,
		ExerciseCPUSeconds: 0.105,
		StartSeconds:       0.81,
		ScriptPeakBytes:    16_357_786, // 15.6 MiB
		REPLIdleBytes:      6_186_598,  // 5.9 MiB
		Source:             "measured on the development machine: 2 cores, Python 3.11, pythonide capacity --measure",
		ServerBaseBytes:    60 * MiB,
		ServerPerUserBytes: 1 * MiB,
		ServerPerProcBytes: MiB / 2,
		ServerBaseCores:    0.05,
		ServerPerUserCores: 0.01,
	}
}
