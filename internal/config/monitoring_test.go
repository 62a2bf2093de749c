package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMonitoringDefaults(t *testing.T) {
	c, _, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.MetricsAllow, ",") != "127.0.0.0/8,::1/128" || c.MetricsToken != "" || c.EMF != "off" ||
		c.EMFNamespace != "PythonIDE/Custom" || c.EMFInterval != time.Minute || c.DegradeMemoryPercent != 85 ||
		c.DegradeCPUPercent != 80 || c.DegradeWait != 5*time.Second || c.AlertActiveUsers != 35 {
		t.Fatalf("monitoring defaults: %+v", c)
	}
}

func TestMetricsAllowReplacesTheDefault(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-allow", "10.0.0.0/16"}, "10.0.0.0/16"},
		{[]string{"--metrics-allow", "10.0.0.0/16,192.168.1.5", "--metrics-allow", "::1"}, "10.0.0.0/16,192.168.1.5,::1"},
		{[]string{"--metrics-allow", "none"}, ""},
	}
	for _, c := range cases {
		cfg, _, err := load(t, c.args, nil)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := strings.Join(cfg.MetricsAllow, ","); got != c.want {
			t.Errorf("%v: got %q, want %q", c.args, got, c.want)
		}
	}
}

func TestMetricsTokenIsASecret(t *testing.T) {
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := load(t, nil, map[string]string{"PYTHONIDE_METRICS_TOKEN_FILE": f, "PYTHONIDE_EMF": "stdout"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsToken != "s3cret-token" || c.EMF != "stdout" {
		t.Fatalf("token %q emf %q", c.MetricsToken, c.EMF)
	}
	var out bytes.Buffer
	c.Print(&out)
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "PYTHONIDE_METRICS_TOKEN=********") {
		t.Fatalf("the token is printed: %s", out.String())
	}
}

func TestMonitoringValidation(t *testing.T) {
	cases := map[string][]string{
		"--metrics-allow":          {"--metrics-allow", "not-an-address"},
		"--degrade-memory-percent": {"--degrade-memory-percent", "-5"},
		"--degrade-cpu-percent":    {"--degrade-cpu-percent", "101"},
		"--emf-namespace":          {"--emf-namespace", "AWS/ECS"},
		"--emf-interval":           {"--emf-interval", "10ms"},
		"--alert-active-users":     {"--alert-active-users", "0"},
		"--degrade-wait":           {"--degrade-wait", "0s"},
	}
	for flag, args := range cases {
		_, _, err := load(t, args, nil)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: want an error naming %s, got %v", args, flag, err)
		}
	}
}
