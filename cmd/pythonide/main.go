// Command pythonide is the classroom Python IDE server and its tools.
package main

import "github.com/pythonide/pythonide/internal/cli"

func main() { cli.Main() }
