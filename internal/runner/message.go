package runner

import "github.com/pythonide/pythonide/internal/protocol"

func strptr(s string) *string { return &s }

// msgSize is what a message costs in the replay buffer.
func msgSize(m *protocol.Message) int {
	return len(m.Data) + len(m.Message) + 64
}
