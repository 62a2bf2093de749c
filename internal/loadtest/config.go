// Package loadtest is the classroom load generator: it drives a running
// pythonide server over its public HTTP and WebSocket API with simulated
// students, measures every operation a student feels, checks that each
// student receives exactly its own program output, watches the server's CPU
// and memory, and writes a report two runs can be compared with.
package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Config is one load test. Zero fields take the defaults of Defaults.
type Config struct {
	URL      string        // the server, e.g. http://127.0.0.1:8080
	Users    int           // simulated students
	Duration time.Duration // how long the class works once everyone has arrived
	Ramp     time.Duration // students arrive evenly over this time
	Think    time.Duration // mean pause between a student's actions (randomized ±50 %)
	Mix      Mix           // how often each action is chosen

	OpTimeout  time.Duration // the longest any one wait may take
	MaxActions int           // per student: a backstop behind Duration

	UserPrefix string // students are named <prefix>001, <prefix>002, …
	Password   string // their password; empty: a random one for this run

	AllowRemote    bool          // the target may be another machine
	ServerPID      int           // the server process to watch; 0: found by its port on loopback
	SampleEvery    time.Duration // how often the server's CPU and memory are read
	BaselinePython string        // interpreter timed with -c 'print(1)' for comparison; "" skips it
	Seed           uint64        // makes the students' choices repeatable; 0: random
}

// Defaults is a small class for a minute.
func Defaults() Config {
	return Config{
		URL: "http://127.0.0.1:8080", Users: 10, Duration: time.Minute, Ramp: 10 * time.Second,
		Think: 2 * time.Second, Mix: DefaultMix(), OpTimeout: 30 * time.Second, MaxActions: 100000,
		UserPrefix: "lt", SampleEvery: time.Second, BaselinePython: "/usr/bin/python3",
	}
}

// maxUsers keeps a typo from opening thousands of connections.
const maxUsers = 5000

// Validate checks c and refuses a target that is not this machine unless
// AllowRemote: a load test pointed at the wrong server is an attack.
func (c *Config) Validate() error {
	var errs []error
	if c.Users < 1 || c.Users > maxUsers {
		errs = append(errs, fmt.Errorf("--users must be between 1 and %d", maxUsers))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("--duration must be positive"))
	}
	if c.Ramp < 0 || c.Think < 0 {
		errs = append(errs, errors.New("--ramp and --think cannot be negative"))
	}
	if c.OpTimeout <= 0 || c.MaxActions < 1 || c.SampleEvery <= 0 {
		errs = append(errs, errors.New("--op-timeout, --max-actions and --sample must be positive"))
	}
	if c.Mix.total() == 0 {
		errs = append(errs, errors.New("--mix gives every action weight 0"))
	}
	if c.UserPrefix == "" {
		errs = append(errs, errors.New("--user-prefix cannot be empty"))
	}
	if err := CheckTarget(c.URL, c.AllowRemote); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckTarget accepts an http(s) URL whose host is a loopback address or
// "localhost"; any other host only when allowRemote.
func CheckTarget(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q is not an http:// or https:// address", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("--url %q: give the server's root, without a path", raw)
	}
	if allowRemote || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("--url %q is not on this machine (loopback); pass --allow-remote to load another server", raw)
}

// isLoopback reads the host literally: a name other than localhost is not
// resolved, since what it resolves to can change between check and use.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
