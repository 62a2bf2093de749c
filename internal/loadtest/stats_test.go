package loadtest

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"one p50", []time.Duration{7}, 50, 7},
		{"ten p50", ten, 50, 5},
		{"ten p95", ten, 95, 10},
		{"ten p90", ten, 90, 9},
		{"ten p99", ten, 99, 10},
		{"ten p100", ten, 100, 10},
		{"ten p1", ten, 1, 1},
		{"hundred p50", hundred, 50, 50},
		{"hundred p95", hundred, 95, 95},
		{"hundred p99", hundred, 99, 99},
		{"four p50 is a sample, not a mean", []time.Duration{10, 20, 30, 40}, 50, 20},
		{"below range clamps", ten, 0, 1},
	}
	for _, c := range cases {
		if got := Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestRecorderSummary(t *testing.T) {
	r := newRecorder(1)
	for i := 1; i <= 100; i++ {
		r.add(OpSave, time.Duration(i)*time.Millisecond)
	}
	r.add(OpStop, 3*time.Second)
	s := r.summary()
	got := s[OpSave]
	want := OpStats{Count: 100, Mean: 50.5, P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Errorf("save: %+v, want %+v", got, want)
	}
	if s[OpStop].P99 != 3000 || s[OpStop].Count != 1 {
		t.Errorf("stop: %+v", s[OpStop])
	}
	if _, ok := s[OpLogin]; ok {
		t.Error("an operation never measured is reported")
	}
}

// TestRecorderIsBounded: past maxSamples the samples are a reservoir, so
// memory stays flat while count, mean and max stay exact.
func TestRecorderIsBounded(t *testing.T) {
	r := newRecorder(1)
	n := maxSamples + 5000
	for i := range n {
		r.add(OpSave, time.Millisecond)
		if i == n/2 {
			r.add(OpSave, time.Hour)
		}
	}
	if l := len(r.by[OpSave].samples); l != maxSamples {
		t.Fatalf("%d samples kept, bound %d", l, maxSamples)
	}
	s := r.summary()[OpSave]
	if s.Count != n+1 || s.Max != ms(time.Hour) || s.P50 != 1 {
		t.Errorf("%+v", s)
	}
}
