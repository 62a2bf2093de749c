// Command pythonide is the classroom Python IDE server and its tools.
package main

import (
	"github.com/pythonide/pythonide/internal/cli"
	"github.com/pythonide/pythonide/internal/sandbox"
)

func main() {
	sandbox.RunHelperIfRequested() // the sandbox re-executes this binary to confine a student's program
	cli.Main()
}
