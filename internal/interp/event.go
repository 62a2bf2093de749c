package interp

// Event types, one per message the driver sends; each maps 1:1 to a WebSocket
// message of the public API (input → input_request).
const (
	TypeStdout    = "stdout"     // Data: text the program wrote to sys.stdout
	TypeStderr    = "stderr"     // Data: text written to sys.stderr (tracebacks too)
	TypeInput     = "input"      // Prompt: the program waits for a line (input(), sys.stdin)
	TypeREPLReady = "repl_ready" // Prompt: ">>> " or "... "; the REPL waits for a line
	TypeFigure    = "figure"     // Mime and Data (base64): a matplotlib figure shown
	// TypeWarm: a warm interpreter (WaitArgs) is loaded and waits for its
	// Claim. Internal to the runner, never forwarded; a program writing one
	// to fd 3 itself gains nothing.
	TypeWarm = "warm"
)

// Event is one message from the driver.
type Event struct {
	Type   string
	Data   string // stdout/stderr text, or a figure's base64 bytes
	Prompt string // input and repl_ready
	Mime   string // figure: "image/png"
}

// wireEvent is the frame as the driver writes it; the short keys keep frames
// small, since every print is one.
type wireEvent struct {
	T      *string `json:"t"`
	D      string  `json:"d"`
	Prompt string  `json:"prompt"`
	Mime   string  `json:"mime"`
}
