package runner

// Message is one server → client WebSocket message of the public API
// ("Running code"). Seq numbers a process's messages from 1, so a client
// that re-attaches can ask only for what it missed.
type Message struct {
	Type    string  `json:"type"`
	ID      string  `json:"id,omitempty"`
	Seq     uint64  `json:"seq,omitempty"`
	Kind    string  `json:"kind,omitempty"`
	Data    string  `json:"data,omitempty"`
	Prompt  *string `json:"prompt,omitempty"`
	Mime    string  `json:"mime,omitempty"`
	Code    any     `json:"code,omitempty"` // exit: the status (int); error: the error code (string)
	Reason  string  `json:"reason,omitempty"`
	Message string  `json:"message,omitempty"`
	// started: which workspace folder the program sees at which path, so
	// the browser can link a traceback's files.
	Paths []PathMap `json:"paths,omitempty"`
}

// Message types sent to the client.
const (
	MsgStarted      = "started"
	MsgStdout       = "stdout"
	MsgStderr       = "stderr"
	MsgInputRequest = "input_request"
	MsgREPLReady    = "repl_ready"
	MsgFigure       = "figure"
	MsgExit         = "exit"
	MsgError        = "error"
)

func strptr(s string) *string { return &s }

// size is what a message costs in the replay buffer.
func (m *Message) size() int {
	return len(m.Data) + len(m.Message) + 64
}
