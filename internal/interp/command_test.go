package interp

import (
	"reflect"
	"slices"
	"testing"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		script string
		want   []string
	}{
		{"", []string{"-I", "-u", "/d/pythonide_driver.py"}},
		{"/home/a/main.py", []string{"-I", "-u", "/d/pythonide_driver.py", "--script", "/home/a/main.py"}},
		{"-weird name.py", []string{"-I", "-u", "/d/pythonide_driver.py", "--script", "-weird name.py"}},
	}
	for _, tc := range tests {
		if got := Args("/d/pythonide_driver.py", tc.script); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Args(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
}

func TestEnv(t *testing.T) {
	base := []string{
		"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONIOENCODING=utf-8", "PYTHONDONTWRITEBYTECODE=1",
		"MPLBACKEND=module://pythonide_mpl", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1",
	}
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{"none", nil, base},
		{"home added", []string{"HOME=/home/ana"}, append(slices.Clone(base), "HOME=/home/ana")},
		{"base overridden in place", []string{"LANG=en_US.UTF-8"}, replaceAt(base, 1, "LANG=en_US.UTF-8")},
		{"later extra wins", []string{"HOME=/a", "HOME=/b"}, append(slices.Clone(base), "HOME=/b")},
		{"malformed dropped", []string{"NOEQUALS", "=value", "TMPDIR=/tmp"}, append(slices.Clone(base), "TMPDIR=/tmp")},
	}
	for _, tc := range tests {
		if got := Env(tc.extra...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Env(%q) = %q, want %q", tc.name, tc.extra, got, tc.want)
		}
	}
	// Calls do not share state.
	Env("HOME=/x")[0] = "PATH=/evil"
	if Env()[0] != "PATH=/usr/bin:/bin" {
		t.Errorf("Env results share a backing array")
	}
}

func replaceAt(s []string, i int, v string) []string {
	s = slices.Clone(s)
	s[i] = v
	return s
}
