package storetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// PG is a private PostgreSQL server that a test may stop and start: the
// machine's shared one, which other suites use, must never go down.
type PG struct {
	t    testing.TB
	dir  string
	port int
	bin  string
}

// URL connects to the private server's postgres database.
func (p *PG) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", p.port)
}

func (p *PG) pgctl(args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.dir, "data")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
	}
}

// Start starts the server and waits until it accepts connections.
func (p *PG) Start() {
	p.pgctl("-w", "-t", "60", "-l", filepath.Join(p.dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir), "start")
}

// Stop stops the server (fast shutdown: connections are cut, as in an outage).
func (p *PG) Stop() { p.pgctl("-w", "-t", "60", "-m", "fast", "stop") }

// PrivatePostgres initialises and starts a PostgreSQL of the test's own on
// a free port, run as the postgres user. It needs the server binaries and
// root; without them the test is skipped, saying which.
func PrivatePostgres(t testing.TB) *PG {
	t.Helper()
	initdb, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdb) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) on this machine")
	}
	if os.Geteuid() != 0 {
		t.Skip("a private PostgreSQL needs root (to run it as the postgres user)")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user on this machine")
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("no runuser on this machine")
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "pythonide-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &PG{t: t, dir: dir, port: ln.Addr().(*net.TCPAddr).Port, bin: filepath.Dir(initdb[0])}
	ln.Close()
	cmd := exec.Command("runuser", "-u", "postgres", "--", initdb[0], "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	return p
}
