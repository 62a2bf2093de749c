package capacity

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.RunHelperIfRequested() // Measure's sandbox re-executes this test binary as its helper
	os.Exit(m.Run())
}

var (
	testFigures = Figures{
		StartCPUSeconds: 0.2, ExerciseCPUSeconds: 0.1, StartSeconds: 0.5, ScriptPeakBytes: 20 * MiB, REPLIdleBytes: 5 * MiB,
		ServerBaseBytes: 60 * MiB, ServerPerUserBytes: MiB, ServerPerProcBytes: MiB / 2, ServerBaseCores: 0.05, ServerPerUserCores: 0.01,
	}
	seedLimits = Limits{MaxPerUser: 3, MaxTotal: 114, MemoryPerProc: 50 * MiB, MemoryTotal: 3 << 30}
)

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestComputePinned pins the arithmetic for 38 users, worked by hand:
//
//	runs/s = 38 × 2 / 60 = 1.2667; a run = 0.2 + 0.1 = 0.3 CPU s
//	steady = 0.05 + 38 × 0.01 + 1.2667 × 0.3 = 0.81 cores
//	burst  = 0.05 + 0.38 + ⌈19⌉ × 0.3 / 10 = 1.00 cores → 1.00 / 0.8 = 1.25 cores
//	running at once = 1.2667 × (0.5 + 0.1) = 0.76
//	processes = 57 × 5 MiB + 0.76 × 15 MiB = 310,797,926 bytes
//	server = 60 MiB + 38 MiB + 57.76 × 0.5 MiB = 133,043,322 bytes
//	needed = (310,797,926 + 133,043,322) / 0.85 = 522,166,174 bytes
//	worst = min(114 × 50 MiB, 3 GiB) + 60 MiB + 38 MiB + 114 × 0.5 MiB = 3,383,754,752 bytes
func TestComputePinned(t *testing.T) {
	e := Compute(38, testFigures, DefaultAssumptions(), seedLimits)
	if !approx(e.RunCPUSeconds, 0.3) || !approx(e.SteadyCores, 0.81) || !approx(e.BurstCores, 1.0) || !approx(e.Cores, 1.25) {
		t.Errorf("cpu: %+v", e)
	}
	if math.Abs(e.RunningAtOnce-0.76) > 1e-9 {
		t.Errorf("running at once %v", e.RunningAtOnce)
	}
	within := func(got, want int64) bool { return got-want <= 1 && want-got <= 1 }
	if !within(e.ProcessBytes, 310797926) || !within(e.ServerBytes, 133043322) || !within(e.MemoryBytes, 522166174) {
		t.Errorf("memory: %+v", e)
	}
	if e.WorstCaseBytes != 3383754752 {
		t.Errorf("worst case %d", e.WorstCaseBytes)
	}
}

func TestComputeScalesAndRespectsLimits(t *testing.T) {
	a := DefaultAssumptions()
	prev := Estimate{}
	for _, n := range []int{1, 10, 25, 38, 100} {
		e := Compute(n, testFigures, a, seedLimits)
		if e.Cores <= prev.Cores || e.MemoryBytes <= prev.MemoryBytes {
			t.Errorf("%d users need no more than %d: %+v vs %+v", n, prev.Users, e, prev)
		}
		prev = e
	}
	// 10 users: 30 processes admitted at 50 MiB each = 1.5 GB, under the 3 GB cap.
	if e := Compute(10, testFigures, a, seedLimits); e.WorstCaseBytes != 30*50*MiB+60*MiB+10*MiB+30*MiB/2 {
		t.Errorf("worst case for 10: %d", e.WorstCaseBytes)
	}
	// Warm interpreters: one idle interpreter's memory each, one per
	// student up to the pool's size, in the estimate and the worst case.
	for _, n := range []int{10, 100} {
		wl := seedLimits
		wl.Warm = 38
		cold, warm := Compute(n, testFigures, a, seedLimits), Compute(n, testFigures, a, wl)
		pool := int64(min(n, 38)) * testFigures.REPLIdleBytes
		if warm.ProcessBytes-cold.ProcessBytes != pool || warm.WorstCaseBytes-cold.WorstCaseBytes != pool || warm.Cores != cold.Cores {
			t.Errorf("%d users with 38 warm interpreters: %+v, without: %+v", n, warm, cold)
		}
	}
	// No burst window: only the steady state counts.
	a.BurstSeconds = 0
	if e := Compute(38, testFigures, a, seedLimits); !approx(e.Cores, 0.81/0.8) {
		t.Errorf("without a burst: %v", e.Cores)
	}
}

func TestFargate(t *testing.T) {
	cases := []struct {
		cores, gb float64
		vcpu, mem float64
		ok        bool
	}{
		{0.1, 0.4, 0.25, 0.5, true},
		{0.3, 0.6, 0.5, 1, true},
		{0.25, 1.5, 0.25, 2, true},
		{0.3, 2.5, 0.5, 3, true},
		{1.25, 0.5, 2, 4, true},
		{2, 5.2, 2, 6, true},
		{3, 20, 4, 20, true},
		{4, 31, 8, 32, true},
		{8, 61, 16, 64, true},
		{20, 1, 0, 0, false},
		{1, 200, 0, 0, false},
	}
	for _, c := range cases {
		s, ok := Fargate(c.cores, c.gb)
		if ok != c.ok || s.VCPU != c.vcpu || s.Memory != c.mem {
			t.Errorf("Fargate(%v, %v) = %v %v, want %v vCPU %v GB %v", c.cores, c.gb, s, ok, c.vcpu, c.mem, c.ok)
		}
	}
}

func TestEC2(t *testing.T) {
	cases := map[[2]float64]string{{1.25, 0.5}: "c6i.large", {2, 6}: "m6i.large", {3, 10}: "m6i.xlarge", {10, 40}: "m6i.4xlarge", {20, 1}: ""}
	for in, want := range cases {
		s, ok := EC2(in[0], in[1])
		if s.Name != want || ok != (want != "") {
			t.Errorf("EC2(%v) = %v %v, want %q", in, s, ok, want)
		}
	}
}

func TestPrintStatesFiguresAndAssumptions(t *testing.T) {
	var b bytes.Buffer
	a := DefaultAssumptions()
	Print(&b, Rows([]int{10, 25, 38}, Defaults(), a, seedLimits), Defaults(), a, seedLimits)
	out := b.String()
	for _, want := range []string{"Users", "\n10 ", "\n25 ", "\n38 ", "Fargate", "2.0 times a minute", "50% of the class", "under 80%", "measured"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestMeasure runs the sample programs through the real sandbox once.
func TestMeasure(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 on this machine")
	}
	if testing.Short() {
		t.Skip("runs real programs")
	}
	f, err := Measure(context.Background(), Defaults(), MeasureOptions{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", f)
	if f.StartCPUSeconds <= 0 || f.StartSeconds <= 0 || f.REPLIdleBytes <= 1*MiB || f.ScriptPeakBytes < f.REPLIdleBytes ||
		f.ExerciseCPUSeconds <= 0 || !strings.Contains(f.Source, "measured on this machine") {
		t.Fatalf("implausible figures: %+v", f)
	}
	if f.ServerBaseBytes != Defaults().ServerBaseBytes {
		t.Fatal("Measure changed the server's figures it does not measure")
	}
}
