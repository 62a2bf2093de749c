package cgroup

import "testing"

func TestParsers(t *testing.T) {
	cpuMax := []struct {
		in    string
		cores float64
		ok    bool
		err   bool
	}{
		{"max 100000\n", 0, false, false},
		{"50000 100000", 0.5, true, false},
		{"200000", 2, true, false},
		{"", 0, false, true},
		{"x 100000", 0, false, true},
	}
	for _, c := range cpuMax {
		cores, ok, err := parseCPUMax(c.in)
		if cores != c.cores || ok != c.ok || (err != nil) != c.err {
			t.Errorf("parseCPUMax(%q) = %v %v %v", c.in, cores, ok, err)
		}
	}
	mem := []struct {
		in  string
		n   int64
		ok  bool
		err bool
	}{
		{"max\n", 0, false, false},
		{"1048576\n", 1 << 20, true, false},
		{"9223372036854771712", 0, false, false},
		{"18446744073709551615", 0, false, false},
		{"-1", 0, false, false},
		{"abc", 0, false, true},
	}
	for _, c := range mem {
		n, ok, err := parseMemoryLimit(c.in)
		if n != c.n || ok != c.ok || (err != nil) != c.err {
			t.Errorf("parseMemoryLimit(%q) = %v %v %v", c.in, n, ok, err)
		}
	}
	lists := map[string]int{"0-3": 4, "0": 1, "0-1,4,6-7\n": 5, "": 0}
	for in, want := range lists {
		if n, err := parseCPUList(in); err != nil || n != want {
			t.Errorf("parseCPUList(%q) = %d %v", in, n, err)
		}
	}
	if _, err := parseCPUList("3-1"); err == nil {
		t.Error("parseCPUList accepted a backwards range")
	}
	if c, ok, err := parseCFSQuota("-1", "100000"); ok || err != nil || c != 0 {
		t.Errorf("cfs -1: %v %v %v", c, ok, err)
	}
	if got := unescapeMount(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Errorf("unescapeMount: %q", got)
	}
	if rel, ok := within("/docker/abc/x", "/docker/abc"); !ok || rel != "/x" {
		t.Errorf("within: %q %v", rel, ok)
	}
	if _, ok := within("/other", "/docker/abc"); ok {
		t.Error("within: a path outside the mount's root was accepted")
	}
}
