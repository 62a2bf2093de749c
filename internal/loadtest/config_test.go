package loadtest

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	cases := []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://127.0.0.1:8080/", false, true},
		{"http://127.9.9.9:80", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"https://127.0.0.1", false, true},
		{"http://10.0.0.5:8080", false, false},
		{"http://0.0.0.0:8080", false, false}, // every address, not loopback
		{"http://ide.school.org", false, false},
		{"http://localhost.evil.org:8080", false, false},
		{"http://ide.school.org", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
		{"http://127.0.0.1:8080/ide", false, false},
		{"", true, false},
	}
	for _, c := range cases {
		err := CheckTarget(c.url, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("CheckTarget(%q, remote=%v) = %v, want ok=%v", c.url, c.remote, err, c.ok)
		}
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Defaults()
	c.Users, c.Duration, c.URL = 0, 0, "http://10.1.1.1"
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"--users", "--duration", "--allow-remote"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %s", err, want)
		}
	}
	if d := Defaults(); d.Validate() != nil {
		t.Errorf("defaults invalid: %v", d.Validate())
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix(" save=3, run=1 ,flood=0")
	if err != nil {
		t.Fatal(err)
	}
	if m[ActSave] != 3 || m[ActRun] != 1 || m[ActList] != 0 || m.String() != "save=3,run=1" {
		t.Fatalf("%v → %q", m, m.String())
	}
	back, err := ParseMix(DefaultMix().String())
	if err != nil || back.String() != DefaultMix().String() {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "save", "save=x", "save=-1", "dance=1", "save=0,run=0"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func TestMixPickFollowsWeights(t *testing.T) {
	m := Mix{ActSave: 3, ActRun: 1}
	rng := rand.New(rand.NewPCG(1, 2))
	got := map[Action]int{}
	for range 4000 {
		got[m.pick(rng)]++
	}
	if len(got) != 2 || got[ActSave] < 2700 || got[ActSave] > 3300 {
		t.Fatalf("picks %v", got)
	}
}

func TestNames(t *testing.T) {
	c := Defaults()
	c.Users, c.UserPrefix = 1200, "lt"
	n := Names(c)
	if len(n) != 1200 || n[0] != "lt0001" || n[1199] != "lt1200" {
		t.Fatalf("%s … %s", n[0], n[len(n)-1])
	}
	c.Users = 3
	if n := Names(c); n[2] != "lt003" {
		t.Fatalf("%v", n)
	}
}
