package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// option declares one setting: its flag (and so its PYTHONIDE_* variable),
// its help, and how it binds to the Config. This table is the single list of
// settings; --help and the printed configuration come from it.
type option struct {
	name   string
	secret bool
	bind   func(fs *flag.FlagSet, c *Config)
}

var options = []option{
	{name: "listen", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (host:port)")
	}},
	{name: "pprof-listen", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.PprofListen, "pprof-listen", c.PprofListen, "serve Go's profiler (net/http/pprof, with block and mutex profiles on) on this loopback address; off when empty")
	}},
	{name: "data", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.DataDir, "data", c.DataDir, "data folder: students' files under ide/, SQLite database")
	}},
	{name: "db", secret: true, bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.DatabaseURL, "db", c.DatabaseURL, "database: postgres://… URL, or a SQLite file path (default: pythonide.db in the data folder)")
	}},
	{name: "allow-network-sqlite", bind: func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.AllowNetworkSQLite, "allow-network-sqlite", c.AllowNetworkSQLite, "allow the SQLite file on a network filesystem such as NFS/EFS (unsafe: use PostgreSQL)")
	}},
	{name: "public-origin", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(listValue{&c.PublicOrigins}, "public-origin", "extra origin allowed to change state, e.g. https://ide.school.org (comma-separated or repeated)")
	}},
	{name: "trusted-proxies", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(listValue{&c.TrustedProxies}, "trusted-proxies", "CIDRs of load balancers whose X-Forwarded-For/-Proto headers are believed (comma-separated)")
	}},
	{name: "cookie-secure", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.CookieSecure, "cookie-secure", c.CookieSecure, "Secure cookie flag: auto (when the request came over TLS), always, never")
	}},
	{name: "session-ttl", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "session lifetime, renewed by activity (sliding)")
	}},
	{name: "single-session", bind: func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.SingleSession, "single-session", c.SingleSession, "a new login ends the user's older sessions")
	}},
	{name: "activity-flush", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.ActivityFlush, "activity-flush", c.ActivityFlush, "how often session activity is written to the database (coalesced)")
	}},
	{name: "login-per-user", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.LoginPerUser, "login-per-user", c.LoginPerUser, "login attempts allowed per username per login window")
	}},
	{name: "login-per-addr", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.LoginPerAddr, "login-per-addr", c.LoginPerAddr, "login attempts allowed per client address per login window")
	}},
	{name: "login-window", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.LoginWindow, "login-window", c.LoginWindow, "window for the login attempt limits")
	}},
	{name: "max-json-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Int64Var(&c.MaxJSONBytes, "max-json-bytes", c.MaxJSONBytes, "largest JSON request body")
	}},
	{name: "shutdown-timeout", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long SIGTERM waits for requests and programs to finish")
	}},
	{name: "drain-timeout", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long a drain (SIGTERM, POST /api/admin/drain) lets running programs end by themselves before stopping them (0: at once)")
	}},
	{name: "instance-id", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.InstanceID, "instance-id", c.InstanceID, "this server's name among several sharing PostgreSQL (default: host name, pid and a random suffix)")
	}},
	{name: "advertise", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.Advertise, "advertise", c.Advertise, "host:port the other instances reach this one at (default: --listen, or this host's address when it listens on all)")
	}},
	{name: "cluster-lease", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.ClusterLease, "cluster-lease", c.ClusterLease, "how long an instance that stopped heartbeating still counts as alive (its programs' slots free after it)")
	}},
	{name: "max-file-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.MaxFileBytes}, "max-file-bytes", "largest file a user may save or upload (e.g. 10MiB)")
	}},
	{name: "quota-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.QuotaBytes}, "quota-bytes", "disk quota of each student's home (e.g. 100MiB); a program that writes past it is stopped")
	}},
	{name: "quota-files", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.QuotaFiles, "quota-files", c.QuotaFiles, "files and folders each home may hold; a program that creates more is stopped")
	}},
	{name: "python", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.Python, "python", c.Python, "absolute path of the Python interpreter students' programs run with")
	}},
	{name: "allow-unconfined", bind: func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.AllowUnconfined, "allow-unconfined", c.AllowUnconfined, "run students' programs even where no file isolation is available (unsafe; logged loudly)")
	}},
	{name: "no-namespaces", bind: func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.NoNamespaces, "no-namespaces", c.NoNamespaces, "confine files with Landlock alone, not bubblewrap, even where bubblewrap works (programs then see host paths; see docs/security.md)")
	}},
	{name: "sandbox-uid", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.SandboxUID, "sandbox-uid", c.SandboxUID, "unprivileged uid (and gid) students' programs run as when the server runs as root")
	}},
	{name: "cgroup-name", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.CgroupName, "cgroup-name", c.CgroupName, "name of the cgroup folder that holds each server's own subtree (servers on one host may share it)")
	}},
	{name: "students-cpu-max", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Float64Var(&c.StudentsCPUMax, "students-cpu-max", c.StudentsCPUMax, "cores every student program together may use, e.g. 1.8 (0: no cap; the server has priority over them either way)")
	}},
	{name: "max-users", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.MaxActiveUsers, "max-users", c.MaxActiveUsers, "users who may have programs running at once")
	}},
	{name: "max-processes-per-user", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.MaxProcsPerUser, "max-processes-per-user", c.MaxProcsPerUser, "programs one user may run at once")
	}},
	{name: "max-processes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.MaxProcs, "max-processes", c.MaxProcs, "programs the server runs at once")
	}},
	{name: "warm-interpreters", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.WarmInterpreters, "warm-interpreters", c.WarmInterpreters, "interpreters started ahead of need, at most one per connected user, so a run starts without waiting for Python (0: off)")
	}},
	{name: "assist-workers", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.AssistWorkers, "assist-workers", c.AssistWorkers, "confined syntax checkers the editor's as-you-type checks share (they parse only, see no home)")
	}},
	{name: "assist-completers", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.AssistCompleters, "assist-completers", c.AssistCompleters, "confined completion workers (jedi) at most, one per home that asks, each seeing that home read-only (0: no completions)")
	}},
	{name: "assist-shared-completers", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.AssistShared, "assist-shared-completers", c.AssistShared, "completion workers that see no home, answering (with the standard library's names, the file's own and those of the modules it imports from its folder) whoever finds every home's completer in use (0: those get 'busy')")
	}},
	{name: "memory-per-process", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.MemoryPerProc}, "memory-per-process", "memory one program may use (e.g. 50MiB)")
	}},
	{name: "memory-total", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.MemoryTotal}, "memory-total", "memory all students' programs may use together (e.g. 3GiB)")
	}},
	{name: "wall-clock", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.WallClock, "wall-clock", c.WallClock, "running time a program gets (time waiting for input does not count)")
	}},
	{name: "cpu-seconds", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.CPUSeconds, "cpu-seconds", c.CPUSeconds, "processor time a program gets (a backstop behind --wall-clock)")
	}},
	{name: "max-threads", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.MaxThreads, "max-threads", c.MaxThreads, "processes and threads one program may have (stops fork bombs)")
	}},
	{name: "idle-timeout", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "a program (or REPL) doing nothing this long is stopped")
	}},
	{name: "input-timeout", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.InputTimeout, "input-timeout", c.InputTimeout, "a program waiting this long for input() is stopped")
	}},
	{name: "abandon-grace", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.AbandonGrace, "abandon-grace", c.AbandonGrace, "programs of a user with no open connection this long are stopped")
	}},
	{name: "sweep-interval", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.SweepInterval, "sweep-interval", c.SweepInterval, "how often the cleanup service sweeps (at least 100ms)")
	}},
	{name: "output-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.OutputBytes}, "output-bytes", "most output one run may print")
	}},
	{name: "output-rate", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.OutputRate}, "output-rate", "sustained output per second one run may print")
	}},
	{name: "ws-max-message-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(byteSize{&c.WSMaxMessageBytes}, "ws-max-message-bytes", "largest WebSocket message from a browser")
	}},
	{name: "ws-messages-per-minute", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.WSMessagesPerMin, "ws-messages-per-minute", c.WSMessagesPerMin, "WebSocket messages one user may send per minute")
	}},
	{name: "log-level", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	}},
	{name: "log-format", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	}},
	{name: "metrics-allow", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Var(&replaceList{dst: &c.MetricsAllow}, "metrics-allow", "addresses or CIDRs that may read /metrics and the detail of /health (comma-separated; \"none\" for none: then only --metrics-token opens them)")
	}},
	{name: "metrics-token", secret: true, bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.MetricsToken, "metrics-token", c.MetricsToken, "bearer token that may read /metrics and the detail of /health from any address")
	}},
	{name: "emf", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.EMF, "emf", c.EMF, "CloudWatch Embedded Metric Format records: off, stdout, or a file path")
	}},
	{name: "emf-namespace", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.EMFNamespace, "emf-namespace", c.EMFNamespace, "CloudWatch namespace of the EMF metrics")
	}},
	{name: "emf-interval", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.EMFInterval, "emf-interval", c.EMFInterval, "how often EMF records are written")
	}},
	{name: "degrade-memory-percent", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Float64Var(&c.DegradeMemoryPercent, "degrade-memory-percent", c.DegradeMemoryPercent, "at or over this memory use (of the server's limit) new programs are refused; running ones go on (0: off)")
	}},
	{name: "degrade-cpu-percent", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Float64Var(&c.DegradeCPUPercent, "degrade-cpu-percent", c.DegradeCPUPercent, "at or over this CPU use (of the server's cores) new programs wait in a queue (0: off)")
	}},
	{name: "degrade-wait", bind: func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.DegradeWait, "degrade-wait", c.DegradeWait, "longest wait in the CPU queue before a program is refused")
	}},
	{name: "alert-active-users", bind: func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.AlertActiveUsers, "alert-active-users", c.AlertActiveUsers, "the active-users alarm line shown in /health (the CloudWatch alarm has its own)")
	}},
}

func isSecret(name string) bool {
	for _, o := range options {
		if o.name == name {
			return o.secret
		}
	}
	return false
}

// byteSize is a size flag: a number of bytes, optionally with a unit
// (K, M, G as powers of 1024, also written KB/KiB, MB/MiB, GB/GiB).
type byteSize struct{ dst *int64 }

func (b byteSize) String() string {
	if b.dst == nil {
		return "0"
	}
	return strconv.FormatInt(*b.dst, 10)
}

func (b byteSize) Set(v string) error {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (e.g. 50MiB, 3GiB, 1048576)", v)
	}
	*b.dst = n * mult
	return nil
}

// replaceList is a comma-separated list flag with a default: the first Set
// replaces the default, later ones append; "none" (or "") gives an empty list.
type replaceList struct {
	dst *[]string
	set bool
}

func (l *replaceList) String() string {
	if l == nil || l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *replaceList) Set(v string) error {
	if !l.set {
		*l.dst, l.set = []string{}, true
	}
	if strings.TrimSpace(v) == "none" {
		return nil
	}
	return listValue{l.dst}.Set(v)
}

// listValue is a comma-separated list flag; repeating the flag appends.
type listValue struct{ dst *[]string }

func (l listValue) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listValue) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.dst = append(*l.dst, s)
		}
	}
	return nil
}
