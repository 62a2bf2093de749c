// Package config builds the one typed configuration the server runs with,
// from defaults, PYTHONIDE_* environment variables (secrets also from
// PYTHONIDE_*_FILE) and command-line flags, in that order of precedence.
// Every setting is declared once, in options.go.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is every setting of the server. It is built once at start-up and
// passed down; nothing reads the environment after that.
type Config struct {
	Listen      string
	PprofListen string // loopback address for Go's profiler; "" = off
	DataDir     string
	DatabaseURL string // secret: may hold a password

	AllowNetworkSQLite bool

	// HTTP and sessions
	PublicOrigins   []string // extra origins allowed for state-changing requests, e.g. https://ide.school.example
	TrustedProxies  []string // CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed
	CookieSecure    string   // auto | always | never
	SessionTTL      time.Duration
	SingleSession   bool
	ActivityFlush   time.Duration // how often coalesced last_activity updates reach the database
	LoginPerUser    int           // failed-or-not login attempts per username per LoginWindow
	LoginPerAddr    int           // per client address per LoginWindow
	LoginWindow     time.Duration
	MaxJSONBytes    int64
	ShutdownTimeout time.Duration
	// DrainTimeout is how long a drain (SIGTERM, POST /api/admin/drain)
	// lets running programs end by themselves before stopping them; 0:
	// stop them at once.
	DrainTimeout time.Duration

	// Several instances sharing PostgreSQL (internal/cluster)
	InstanceID   string        // default: host name, pid, random
	Advertise    string        // host:port the other instances reach this one at; default from --listen
	ClusterLease time.Duration // a silent instance counts as alive this long

	// Files
	MaxFileBytes int64
	QuotaBytes   int64
	QuotaFiles   int

	// Running programs (see docs/processes.md)
	Python           string
	AllowUnconfined  bool
	NoNamespaces     bool // Landlock instead of bubblewrap even where bubblewrap works
	SandboxUID       int
	CgroupName       string
	StudentsCPUMax   float64 // cores; 0: no cap
	MaxActiveUsers   int
	MaxProcsPerUser  int
	MaxProcs         int
	MemoryPerProc    int64
	MemoryTotal      int64
	WallClock        time.Duration
	CPUSeconds       int
	MaxThreads       int
	IdleTimeout      time.Duration
	InputTimeout     time.Duration
	AbandonGrace     time.Duration
	SweepInterval    time.Duration
	OutputBytes      int64
	OutputRate       int64
	WarmInterpreters int
	AssistWorkers    int // the editor's syntax checkers (internal/assist)
	AssistCompleters int // the editor's completion workers, one per home, at most; 0: no completions
	AssistShared     int // completion workers that see no home, for requests no home's worker has room for

	// WebSocket
	WSMaxMessageBytes int64
	WSMessagesPerMin  int

	// Logging
	LogLevel  string // debug | info | warn | error
	LogFormat string // text | json

	// Monitoring (see docs/operations.md)
	MetricsAllow         []string      // CIDRs or addresses that may read /metrics and /health's detail
	MetricsToken         string        // secret: a bearer token that may read them from anywhere
	EMF                  string        // CloudWatch Embedded Metric Format: off | stdout | a file path
	EMFNamespace         string        // CloudWatch namespace of the EMF metrics
	EMFInterval          time.Duration // how often EMF records are written
	DegradeMemoryPercent float64       // at or over this memory use, new runs are refused; 0: off
	DegradeCPUPercent    float64       // at or over this CPU use, new runs wait in a queue; 0: off
	DegradeWait          time.Duration // longest wait in that queue before a refusal
	AlertActiveUsers     int           // the ActiveUsers alarm line shown in /health
}

// Defaults returns the embedded defaults: SQLite and data under ./data,
// loopback only, the seed's numbers for every limit.
func Defaults() *Config {
	return &Config{
		Listen:          "127.0.0.1:8080",
		DataDir:         "data",
		CookieSecure:    "auto",
		SessionTTL:      24 * time.Hour,
		SingleSession:   true,
		ActivityFlush:   30 * time.Second,
		LoginPerUser:    10,
		LoginPerAddr:    60,
		LoginWindow:     5 * time.Minute,
		MaxJSONBytes:    1 << 20,
		ShutdownTimeout: 15 * time.Second,
		DrainTimeout:    20 * time.Second,
		ClusterLease:    15 * time.Second,
		MaxFileBytes:    10 << 20,
		QuotaBytes:      100 << 20,
		QuotaFiles:      10000,
		LogLevel:        "info",
		LogFormat:       "text",

		Python:           "/usr/bin/python3",
		SandboxUID:       65534,
		CgroupName:       "pythonide",
		MaxActiveUsers:   38,
		MaxProcsPerUser:  3,
		MaxProcs:         114,
		MemoryPerProc:    50 << 20,
		MemoryTotal:      3 << 30,
		WallClock:        300 * time.Second,
		CPUSeconds:       600,
		MaxThreads:       32,
		IdleTimeout:      30 * time.Minute,
		InputTimeout:     10 * time.Minute,
		AbandonGrace:     60 * time.Second,
		SweepInterval:    30 * time.Second,
		OutputBytes:      2 << 20,
		OutputRate:       256 << 10,
		WarmInterpreters: 38,
		AssistWorkers:    2,
		AssistCompleters: 8,
		AssistShared:     2,

		WSMaxMessageBytes: 256 << 10,
		WSMessagesPerMin:  1200,

		MetricsAllow:         []string{"127.0.0.0/8", "::1/128"},
		EMF:                  "off",
		EMFNamespace:         "PythonIDE/Custom",
		EMFInterval:          time.Minute,
		DegradeMemoryPercent: 85,
		DegradeCPUPercent:    80,
		DegradeWait:          5 * time.Second,
		AlertActiveUsers:     35,
	}
}

// EnvName is the environment variable that sets the flag name.
func EnvName(flagName string) string {
	return "PYTHONIDE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// FlagSet returns a flag set bound to c, with every option registered, or
// only the options named in only. Callers add their own flags before
// calling Load.
func FlagSet(name string, c *Config, only ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	for _, o := range options {
		if len(only) == 0 || slices.Contains(only, o.name) {
			o.bind(fs, c)
		}
	}
	return fs
}

// DataOptions are the settings of a command that only opens the data
// folder and the database (user management, the load generator's --db mode).
var DataOptions = []string{"data", "db", "allow-network-sqlite", "sandbox-uid", "log-level", "log-format"}

// Load applies the environment to fs (PYTHONIDE_<FLAG>, and for secrets
// PYTHONIDE_<FLAG>_FILE), then parses args over it and validates c. It
// returns the positional arguments left.
func Load(fs *flag.FlagSet, c *Config, args []string, getenv func(string) string) ([]string, error) {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
		if isSecret(f.Name) {
			if path := getenv(env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				} else if err := fs.Set(f.Name, strings.TrimSpace(string(b))); err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				}
			}
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	return rest, c.Validate()
}

// parseInterleaved lets flags follow positional arguments
// ("user add alice --role student"), which the flag package alone does not.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// Validate checks every setting and says plainly what is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("--listen %q: want host:port (%v)", c.Listen, err)
	}
	if c.PprofListen != "" {
		host, _, err := net.SplitHostPort(c.PprofListen)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			bad("--pprof-listen %q: want a loopback host:port such as 127.0.0.1:6060 (profiles reveal internals)", c.PprofListen)
		}
	}
	if c.DataDir == "" {
		bad("--data must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		if strings.Contains(c.DatabaseURL, "://") {
			bad("--db: want postgres://… or a SQLite file path")
		}
	}
	for _, o := range c.PublicOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("--public-origin %q: want scheme://host[:port], e.g. https://ide.example.org", o)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil {
			bad("--trusted-proxies %q: want a CIDR such as 10.0.0.0/16", p)
		}
	}
	switch c.CookieSecure {
	case "auto", "always", "never":
	default:
		bad("--cookie-secure %q: want auto, always or never", c.CookieSecure)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("--log-format %q: want text or json", c.LogFormat)
	}
	if !filepath.IsAbs(c.Python) {
		bad("--python %q: give the interpreter's absolute path, e.g. /usr/bin/python3", c.Python)
	}
	for _, a := range c.MetricsAllow {
		if _, _, err := net.ParseCIDR(a); err != nil && net.ParseIP(a) == nil {
			bad("--metrics-allow %q: want an address or a CIDR such as 10.0.0.0/16", a)
		}
	}
	for name, p := range map[string]float64{"--degrade-memory-percent": c.DegradeMemoryPercent, "--degrade-cpu-percent": c.DegradeCPUPercent} {
		if p < 0 || p > 100 {
			bad("%s must be between 0 (off) and 100", name)
		}
	}
	if strings.TrimSpace(c.EMFNamespace) == "" || strings.HasPrefix(c.EMFNamespace, "AWS/") || len(c.EMFNamespace) > 255 {
		bad("--emf-namespace %q: want a namespace of your own (not AWS/…)", c.EMFNamespace)
	}
	if c.EMFInterval < time.Second {
		bad("--emf-interval must be at least 1s")
	}
	if c.MemoryPerProc > c.MemoryTotal {
		bad("--memory-per-process must not exceed --memory-total")
	}
	if c.WarmInterpreters < 0 {
		bad("--warm-interpreters must be 0 (off) or more")
	}
	if c.AssistWorkers < 1 || c.AssistWorkers > 64 {
		bad("--assist-workers must be between 1 and 64")
	}
	if c.AssistCompleters < 0 || c.AssistCompleters > 1000 {
		bad("--assist-completers must be between 0 (off) and 1000")
	}
	if c.AssistShared < 0 || c.AssistShared > 64 {
		bad("--assist-shared-completers must be between 0 and 64")
	}
	if c.StudentsCPUMax < 0 || c.StudentsCPUMax > 0 && c.StudentsCPUMax < 0.01 || math.IsNaN(c.StudentsCPUMax) || math.IsInf(c.StudentsCPUMax, 0) {
		bad("--students-cpu-max must be 0 (no cap) or a number of cores of at least 0.01, such as 1.8")
	}
	if c.SweepInterval < 100*time.Millisecond {
		bad("--sweep-interval must be at least 100ms")
	}
	positive := map[string]int64{
		"--max-file-bytes": c.MaxFileBytes, "--quota-bytes": c.QuotaBytes, "--quota-files": int64(c.QuotaFiles), "--max-json-bytes": c.MaxJSONBytes,
		"--login-per-user": int64(c.LoginPerUser), "--login-per-addr": int64(c.LoginPerAddr),
		"--max-users": int64(c.MaxActiveUsers), "--max-processes-per-user": int64(c.MaxProcsPerUser),
		"--max-processes": int64(c.MaxProcs), "--memory-per-process": c.MemoryPerProc, "--memory-total": c.MemoryTotal,
		"--cpu-seconds": int64(c.CPUSeconds), "--max-threads": int64(c.MaxThreads), "--output-bytes": c.OutputBytes,
		"--output-rate": c.OutputRate, "--ws-max-message-bytes": c.WSMaxMessageBytes, "--ws-messages-per-minute": int64(c.WSMessagesPerMin),
		"--sandbox-uid": int64(c.SandboxUID), "--alert-active-users": int64(c.AlertActiveUsers),
	}
	for name, v := range positive {
		if v <= 0 {
			bad("%s must be positive", name)
		}
	}
	durations := map[string]time.Duration{
		"--session-ttl": c.SessionTTL, "--activity-flush": c.ActivityFlush,
		"--login-window": c.LoginWindow, "--shutdown-timeout": c.ShutdownTimeout,
		"--wall-clock": c.WallClock, "--idle-timeout": c.IdleTimeout, "--input-timeout": c.InputTimeout,
		"--abandon-grace": c.AbandonGrace, "--degrade-wait": c.DegradeWait, "--cluster-lease": c.ClusterLease,
	}
	if c.DrainTimeout < 0 {
		bad("--drain-timeout must not be negative")
	}
	for name, d := range durations {
		if d <= 0 {
			bad("%s must be positive", name)
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// DatabaseDSN is what the store opens: the PostgreSQL URL, or the SQLite
// file inside the data folder.
func (c *Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "pythonide.db")
}

// WorkspaceRoot is the folder holding Local/<user>/ and the course folders,
// the layout of the old system's data volume.
func (c *Config) WorkspaceRoot() string { return filepath.Join(c.DataDir, "ide") }

// Print writes every setting, secrets masked, one per line.
func (c *Config) Print(w io.Writer) {
	fs := FlagSet("print", c)
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if isSecret(f.Name) {
			v = Mask(v)
		}
		fmt.Fprintf(w, "%s=%s\n", EnvName(f.Name), v)
	})
}

// Mask hides a secret: a URL keeps its scheme, host and path but loses its
// password; anything else is replaced entirely.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return "********"
}
