package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStudentsShareOfTheCPU: where a cpu controller is the server's, every
// student program together weighs a tenth of the server, a cap is kept on
// the instance's subtree, and a program's own weight is set on its group.
func TestStudentsShareOfTheCPU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups are managed only as root")
	}
	m := modes(t)[0]
	cfg := m.cfg
	cfg.StudentsCPUMax = 1.5
	s := newSandbox(t, cfg)
	if s.Layers().CPU == "nice" {
		t.Skip("no cpu controller is the server's on this machine (the fallback, niceness, is TestBackgroundLowersTheWholeTreeOnly)")
	}
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	t.Logf("layers: %s", s.Layers())
	w := newWorld(t, s)
	p, lines := startLines(t, s, w.spec("weigh", "-c", "import time\nprint('up', flush=True)\ntime.sleep(30)\n"))
	<-lines
	if err := p.Weigh(10); err != nil {
		t.Fatal(err)
	}
	var group string
	for _, d := range p.g.Dirs() {
		if _, err := os.Stat(filepath.Join(d, "cpu.weight")); err == nil && s.Layers().CPU == "v2" {
			group = d
		}
		if _, err := os.Stat(filepath.Join(d, "cpu.shares")); err == nil && s.Layers().CPU == "v1" {
			group = d
		}
	}
	if group == "" {
		t.Fatalf("no cpu folder among the program's cgroups %v", p.g.Dirs())
	}
	instance, students := filepath.Dir(group), filepath.Dir(filepath.Dir(group))
	switch s.Layers().CPU {
	case "v2":
		if got := read(filepath.Join(students, "cpu.weight")); got != "10" {
			t.Errorf("every student program together weighs %s beside the server's 100", got)
		}
		if got := read(filepath.Join(instance, "cpu.max")); got != "150000 100000" {
			t.Errorf("the cap is %q", got)
		}
		if got := read(filepath.Join(group, "cpu.weight")); got != "10" {
			t.Errorf("the program weighs %s", got)
		}
	case "v1":
		if got := read(filepath.Join(students, "cpu.shares")); got != "102" {
			t.Errorf("every student program together has %s shares beside the server's threads' 1024 each", got)
		}
		if got := read(filepath.Join(instance, "cpu.cfs_quota_us")); got != "150000" {
			t.Errorf("the cap is %q µs per 100 ms", got)
		}
		if got := read(filepath.Join(group, "cpu.shares")); got != "102" {
			t.Errorf("the program has %s shares", got)
		}
	}
	if !strings.Contains(s.Layers().String(), "cpu="+s.Layers().CPU) {
		t.Errorf("the start-up line %q does not say how the CPU is shared", s.Layers())
	}
	p.Kill()
	p.Wait()
}
