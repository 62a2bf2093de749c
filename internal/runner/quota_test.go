package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/protocol"

	"github.com/pythonide/pythonide/internal/registry"
	"github.com/pythonide/pythonide/internal/workspace"
)

// A program that writes its home past the storage quota is stopped with
// reason output_limit and told why; the bytes it wrote are bounded by what
// it manages to write between two measurements.
func TestProgramWritingPastTheQuotaIsStopped(t *testing.T) {
	const quota = 4 << 20
	r, ws := newRunnerQuota(t, registry.DefaultLimits(), workspace.Options{QuotaBytes: quota})
	write(t, ws, "fay", "Local/fay/fill.py", `import time
n = 0
while True:
    with open('fill%04d.bin' % n, 'wb') as f:
        f.write(b'x' * (256 << 10))
    n += 1
    time.sleep(0.01)
`)
	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "fay"}, "fill", "Local/fay/fill.py", wk)
	if err != nil {
		t.Fatal(err)
	}
	ms := collect(t, sub, wk, nil)
	end := ms[len(ms)-1]
	if end.Type != protocol.MsgExit || end.Reason != string(registry.ReasonOutputLimit) || !strings.Contains(end.Message, "storage limit of 4 MB") {
		t.Fatalf("ended with %+v, want output_limit naming the storage limit", end)
	}
	used, err := ws.Usage("fay")
	if err != nil {
		t.Fatal(err)
	}
	// 256 KiB per 10 ms is at most ~25 MB/s, and a growing home is
	// measured every 25 ms: well under a megabyte past, more on a loaded
	// machine; an unchecked program would write until it is stopped
	// (~500 MB in 20 s).
	t.Logf("the home holds %.1f MB after the stop (quota %d MB)", float64(used)/(1<<20), quota>>20)
	if used > 64<<20 {
		t.Errorf("the program wrote %d MB before it was stopped", used>>20)
	}
}

// Files that weigh nothing still count: a program creating more files and
// folders than QuotaFiles allows is stopped the same way.
func TestProgramCreatingTooManyFilesIsStopped(t *testing.T) {
	r, ws := newRunnerQuota(t, registry.DefaultLimits(), workspace.Options{QuotaFiles: 200})
	write(t, ws, "gil", "Local/gil/many.py", `import os, time
os.mkdir('many')
n = 0
while True:
    open('many/f%06d' % n, 'w').close()
    n += 1
    if n % 50 == 0:
        time.sleep(0.01)
`)
	wk := make(waker, 1)
	sub, err := r.Run(User{Name: "gil"}, "many", "Local/gil/many.py", wk)
	if err != nil {
		t.Fatal(err)
	}
	ms := collect(t, sub, wk, nil)
	end := ms[len(ms)-1]
	if end.Type != protocol.MsgExit || end.Reason != string(registry.ReasonOutputLimit) || !strings.Contains(end.Message, "over its limit of 200") {
		t.Fatalf("ended with %+v, want output_limit naming the files limit", end)
	}
}

// A program that stays within the quota is left alone, and so are other
// students while one is over.
func TestQuotaStopsOnlyTheOwnerOverIt(t *testing.T) {
	r, ws := newRunnerQuota(t, registry.DefaultLimits(), workspace.Options{QuotaBytes: 1 << 20})
	write(t, ws, "hal", "Local/hal/big.py", "open('big.bin', 'wb').write(b'x' * (2 << 20))\nimport time\ntime.sleep(60)\n")
	write(t, ws, "ivy", "Local/ivy/small.py", "open('small.bin', 'wb').write(b'x' * 1000)\nprint('written', flush=True)\nimport time\ntime.sleep(60)\n")
	wi := make(waker, 1)
	subI, err := r.Run(User{Name: "ivy"}, "s", "Local/ivy/small.py", wi)
	if err != nil {
		t.Fatal(err)
	}
	ivy := messages(t, subI, wi)
	for m := range ivy {
		if m.Type == protocol.MsgStdout {
			break
		}
	}
	wh := make(waker, 1)
	subH, err := r.Run(User{Name: "hal"}, "b", "Local/hal/big.py", wh)
	if err != nil {
		t.Fatal(err)
	}
	if end := collect(t, subH, wh, nil); end[len(end)-1].Reason != string(registry.ReasonOutputLimit) {
		t.Fatalf("hal's program ended with %+v", end[len(end)-1])
	}
	// Several measurements later ivy's program still runs.
	seen := map[string]homeWatch{}
	r.checkQuotas(time.Now(), seen)
	r.checkQuotas(time.Now().Add(time.Hour), seen)
	if p := r.lookup("ivy", "s"); p == nil {
		t.Fatal("ivy's program was stopped")
	} else if reason, _ := p.stopReason(); reason != "" {
		t.Fatalf("ivy's program is being stopped: %s", reason)
	}
	r.Stop("ivy", "s")
}
