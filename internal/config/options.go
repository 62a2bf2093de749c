package config

import (
	"flag"
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
	{name: "max-file-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Int64Var(&c.MaxFileBytes, "max-file-bytes", c.MaxFileBytes, "largest file a user may save or upload")
	}},
	{name: "quota-bytes", bind: func(fs *flag.FlagSet, c *Config) {
		fs.Int64Var(&c.QuotaBytes, "quota-bytes", c.QuotaBytes, "disk quota of each student's home")
	}},
	{name: "log-level", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	}},
	{name: "log-format", bind: func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
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
