package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, []string, error) {
	t.Helper()
	c := Defaults()
	fs := FlagSet("test", c)
	fs.SetOutput(new(bytes.Buffer))
	rest, err := Load(fs, c, args, func(k string) string { return env[k] })
	return c, rest, err
}

func TestDefaultsAreValid(t *testing.T) {
	c, rest, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 || c.Listen != "127.0.0.1:8080" || c.DataDir != "data" {
		t.Fatalf("unexpected defaults: %+v %v", c, rest)
	}
	if got := c.DatabaseDSN(); got != filepath.Join("data", "pythonide.db") {
		t.Fatalf("default DSN %q", got)
	}
}

func TestPrecedenceFlagOverEnvOverDefault(t *testing.T) {
	env := map[string]string{"PYTHONIDE_LISTEN": "0.0.0.0:9000", "PYTHONIDE_SESSION_TTL": "2h", "PYTHONIDE_QUOTA_BYTES": "5"}
	c, _, err := load(t, []string{"--listen", "127.0.0.1:7000"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" {
		t.Errorf("flag should win over env, got %q", c.Listen)
	}
	if c.SessionTTL != 2*time.Hour || c.QuotaBytes != 5 {
		t.Errorf("env not applied: %v %v", c.SessionTTL, c.QuotaBytes)
	}
}

func TestSecretFromFileAndMasked(t *testing.T) {
	f := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(f, []byte("postgres://ide:s3cret@db.internal:5432/ide\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := load(t, nil, map[string]string{"PYTHONIDE_DB_FILE": f})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://ide:s3cret@db.internal:5432/ide" {
		t.Fatalf("secret file not read: %q", c.DatabaseURL)
	}
	var out bytes.Buffer
	c.Print(&out)
	if strings.Contains(out.String(), "s3cret") {
		t.Fatalf("printed configuration leaks the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "PYTHONIDE_DB=postgres://ide:xxxxx@db.internal:5432/ide") {
		t.Fatalf("masked URL missing:\n%s", out.String())
	}
	if Mask("plain-token") != "********" {
		t.Fatal("non-URL secret not masked")
	}
}

func TestPositionalInterleaved(t *testing.T) {
	c := Defaults()
	fs := FlagSet("user add", c)
	role := fs.String("role", "", "")
	rest, err := Load(fs, c, []string{"alice", "--role", "student", "--data", "/x"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0] != "alice" || *role != "student" || c.DataDir != "/x" {
		t.Fatalf("rest=%v role=%q data=%q", rest, *role, c.DataDir)
	}
}

func TestValidationNamesTheProblem(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nope"}, "--listen"},
		{[]string{"--db", "mysql://x"}, "--db"},
		{[]string{"--public-origin", "ide.example.org"}, "--public-origin"},
		{[]string{"--trusted-proxies", "10.0.0.1"}, "--trusted-proxies"},
		{[]string{"--cookie-secure", "sometimes"}, "--cookie-secure"},
		{[]string{"--quota-bytes", "0"}, "--quota-bytes"},
		{[]string{"--session-ttl", "-1s"}, "--session-ttl"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--assist-workers", "0"}, "--assist-workers"},
		{[]string{"--assist-completers", "-1"}, "--assist-completers"},
		{[]string{"--assist-shared-completers", "-1"}, "--assist-shared-completers"},
		{[]string{"--assist-shared-completers", "65"}, "--assist-shared-completers"},
	}
	for _, tc := range cases {
		_, _, err := load(t, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	if _, _, err := load(t, nil, map[string]string{"PYTHONIDE_SESSION_TTL": "soon"}); err == nil || !strings.Contains(err.Error(), "PYTHONIDE_SESSION_TTL") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestListFlags(t *testing.T) {
	c, _, err := load(t, []string{"--public-origin", "https://a.example,https://b.example", "--public-origin", "http://c.example:8080"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PublicOrigins) != 3 {
		t.Fatalf("got %v", c.PublicOrigins)
	}
}

func TestByteSizes(t *testing.T) {
	c, _, err := load(t, []string{"--memory-per-process", "64MiB", "--memory-total", "2G", "--quota-bytes", "1048576", "--output-bytes", "512 KB"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryPerProc != 64<<20 || c.MemoryTotal != 2<<30 || c.QuotaBytes != 1<<20 || c.OutputBytes != 512<<10 {
		t.Fatalf("sizes: %d %d %d %d", c.MemoryPerProc, c.MemoryTotal, c.QuotaBytes, c.OutputBytes)
	}
	for _, bad := range []string{"lots", "-5", "5T", "99999999999G"} {
		if _, _, err := load(t, []string{"--memory-total", bad}, nil); err == nil {
			t.Errorf("size %q accepted", bad)
		}
	}
	if _, _, err := load(t, []string{"--memory-per-process", "4G", "--memory-total", "3G"}, nil); err == nil {
		t.Error("per-process memory over the total accepted")
	}
	if _, _, err := load(t, []string{"--python", "python3"}, nil); err == nil {
		t.Error("relative interpreter accepted")
	}
}

func TestPprofOnlyOnLoopback(t *testing.T) {
	if _, _, err := load(t, []string{"--pprof-listen", "0.0.0.0:6060"}, nil); err == nil {
		t.Error("profiler on every interface accepted")
	}
	if _, _, err := load(t, []string{"--pprof-listen", "127.0.0.1:6060"}, nil); err != nil {
		t.Error(err)
	}
}

func TestStudentsCPUMax(t *testing.T) {
	c, _, err := load(t, nil, map[string]string{"PYTHONIDE_STUDENTS_CPU_MAX": "1.8"})
	if err != nil || c.StudentsCPUMax != 1.8 {
		t.Fatalf("from the environment: %v %v", c.StudentsCPUMax, err)
	}
	for _, bad := range []string{"-1", "0.001", "NaN", "Inf", "lots"} {
		if _, _, err := load(t, []string{"--students-cpu-max", bad}, nil); err == nil {
			t.Errorf("--students-cpu-max %s accepted", bad)
		}
	}
}
