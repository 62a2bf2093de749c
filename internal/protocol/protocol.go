// Package protocol is the WebSocket wire contract of the public API
// (shared/API.md, "Running code"): the messages a browser and the server
// exchange on /ws, their types and their fields. The server (web, runner)
// and every client of the server (the load generator) speak through it;
// it holds no behaviour.
package protocol

// Request is one client → server message.
type Request struct {
	Type  string `json:"type"` // one of the Req* types
	ID    string `json:"id"`   // chosen by the client; names one process for its whole life
	Path  string `json:"path,omitempty"`
	Data  string `json:"data,omitempty"`
	Since uint64 `json:"since,omitempty"` // attach: the last Seq the client has seen
}

// Request types.
const (
	ReqRun    = "run"    // run Path; after the script, the same process becomes a REPL
	ReqREPL   = "repl"   // an empty REPL in the user's home
	ReqStdin  = "stdin"  // Data for input() or the REPL
	ReqStop   = "stop"   // stop the process
	ReqAttach = "attach" // resume the stream of a process still running, after Since
)

// Message is one server → client message. Seq numbers a process's
// messages from 1, so a client that re-attaches can ask only for what it
// missed.
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
	// error: a short reference ("R-" and 6 characters) the server also
	// logged with the real cause (attribute ref), for a start that failed
	// on the server's side; the student gives it to their teacher.
	Ref string `json:"ref,omitempty"`
	// error: whether sending the same request again may succeed (true: a
	// limit or a passing shortage; false: the file, or a cause that lasts);
	// absent when the server cannot tell.
	Retry *bool `json:"retry,omitempty"`
}

// PathMap says which workspace folder a program sees at At.
type PathMap struct {
	At   string `json:"at"`
	Path string `json:"path"`
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

// CodeUnavailable is the code of an "error" message for a start that failed
// on the server's side (shared/API.md lists the codes).
const CodeUnavailable = "unavailable"
