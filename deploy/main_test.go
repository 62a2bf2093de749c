package deploy

import (
	"os"
	"testing"

	"github.com/pythonide/pythonide/internal/cli"
	"github.com/pythonide/pythonide/internal/sandbox"
)

// TestMain lets the test binary stand in for the pythonide binary (with
// PYTHONIDE_TEST_MAIN=1 it is the real command), so the systemd test can run
// the server that ships under the unit's capability set.
func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested()
	if os.Getenv("PYTHONIDE_TEST_MAIN") == "1" {
		cli.Main()
		return
	}
	os.Exit(m.Run())
}
