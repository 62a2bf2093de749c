// Package interp is what runs inside the student's Python interpreter and the
// Go codec the runner uses to talk to it.
//
// The driver (driver/pythonide_driver.py, embedded here and written to disk by
// Install) runs a script as __main__ and then a REPL in the same globals. It
// reports everything the server must know on fd 3 as newline-delimited JSON
// events (Reader decodes them) and reads lines for input() and the REPL from
// fd 4 (Writer sends them). The channel is separate from stdout, so nothing a
// program prints can forge an event.
//
// Wire format on fd 3, one JSON object per line, all ASCII:
//
//	{"t":"stdout"|"stderr","d":TEXT}
//	{"t":"input","prompt":TEXT}        the program waits in input() or reads sys.stdin
//	{"t":"repl_ready","prompt":">>> "|"... "}
//	{"t":"figure","mime":"image/png","d":BASE64}
//
// On fd 4 the server writes plain UTF-8 lines; each input() call or REPL
// prompt consumes exactly one, and closing fd 4 is end of input (EOFError in
// input(), exit status 0 from the REPL).
package interp
