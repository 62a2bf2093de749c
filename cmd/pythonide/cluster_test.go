package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pythonide/pythonide/internal/loadtest"
	"github.com/pythonide/pythonide/internal/store/storetest"
)

// A class served by several instances of the real binary behind a real
// load balancer (HAProxy from Debian's packages, round-robin, no
// stickiness), sharing only a private PostgreSQL and one data folder — as
// docs/operations.md tells operators to run it.

const haproxyBin = "/usr/sbin/haproxy"

type instance struct {
	id, addr string
	cmd      *exec.Cmd
}

type class struct {
	dir, data string
	lb        string // the balancer's address: what students use
	inst      []*instance
	balancer  *exec.Cmd
}

// newClass starts n instances with the given extra serve flags and a
// balancer in front of them, and waits until the balancer reaches each.
func newClass(t *testing.T, n int, extra ...string) *class {
	t.Helper()
	dir := faultEnv(t)
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("HAProxy is not installed (.ci/run installs Debian's haproxy package)")
	}
	pg := storetest.PrivatePostgres(t)
	t.Setenv("PYTHONIDE_DB", pg.URL())
	c := &class{dir: dir, data: filepath.Join(dir, "data"), lb: freeAddr(t)}
	// The folder the instances share; the first `user add` creates it.
	addUser(t, c.data, "first-student", "first-pw-1")
	for i := range n {
		in := &instance{id: fmt.Sprintf("i%d", i+1), addr: freeAddr(t)}
		in.cmd = startServer(t, c.data, in.addr, append([]string{"--instance-id", in.id, "--advertise", in.addr}, extra...)...)
		c.inst = append(c.inst, in)
	}
	c.startBalancer(t)
	t.Cleanup(func() {
		if t.Failed() { // what the instances warned of, to tell why
			b, _ := os.ReadFile(filepath.Join(c.dir, "serve.log"))
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
					t.Log(l)
				}
			}
		}
	})
	return c
}

func (c *class) startBalancer(t *testing.T) {
	t.Helper()
	var servers strings.Builder
	for _, in := range c.inst {
		fmt.Fprintf(&servers, "    server %s %s check\n", in.id, in.addr)
	}
	// What an operator would write (docs/operations.md): HTTP mode, no
	// stickiness, the health check on /readyz (a draining or dead instance
	// gets no new requests), a connection refused retried elsewhere, and
	// WebSockets kept open as long as the class works.
	cfg := fmt.Sprintf(`global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 2m
    timeout server 2m
    timeout tunnel 1h
    timeout check 5s
    retries 2
    option redispatch
frontend class
    bind %s
    default_backend instances
backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz
    default-server inter 1s fall 3 rise 2
%s`, c.lb, servers.String())
	path := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(c.dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.balancer = exec.Command(haproxyBin, "-db", "-f", path)
	c.balancer.Stdout, c.balancer.Stderr = log, log
	if err := c.balancer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.balancer.Process.Kill(); c.balancer.Wait(); log.Close() })
	// Up when every instance has answered through it.
	seen := map[string]bool{}
	if !waitFor(30*time.Second, func() bool {
		if id := c.answeredBy(); id != "" {
			seen[id] = true
		}
		return len(seen) == len(c.inst)
	}) {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("the balancer reached only %v of %d instances:\n%s", seen, len(c.inst), b)
	}
}

// answeredBy is the instance that answered one /health through the
// balancer ("" when none did).
func (c *class) answeredBy() string {
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + c.lb + "/health")
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var h struct{ Instance string }
	json.NewDecoder(res.Body).Decode(&h)
	return h.Instance
}

func addProfessor(t *testing.T, data, name, pw string) { addUserAs(t, data, name, "professor", pw) }

type tableRow struct {
	ID, User, Path, Instance string
}

// table is the teacher's live table as one instance (or the balancer) gives it.
func table(t *testing.T, c *http.Client, addr string) (rows []tableRow, unreachable []string) {
	t.Helper()
	a := do(t, c, "GET", "http://"+addr+"/api/admin/processes", "")
	if a.status != 200 {
		t.Fatalf("the teacher's table from %s: %d %s", addr, a.status, a.body)
	}
	var body struct {
		Processes   []tableRow
		Unreachable []string
	}
	if err := json.Unmarshal([]byte(a.body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Processes, body.Unreachable
}

func rowsOf(rows []tableRow, user string) (out []tableRow) {
	for _, r := range rows {
		if r.User == user {
			out = append(out, r)
		}
	}
	return out
}

func TestClassOnThreeInstancesBehindABalancer(t *testing.T) {
	const lease = 3 * time.Second
	c := newClass(t, 3, "--cluster-lease", lease.String(), "--max-processes", "5", "--max-processes-per-user", "3", "--drain-timeout", "3s")
	students := []string{"alice", "bob", "carol"}
	for _, s := range students {
		addUser(t, c.data, s, s+"-pw-1")
	}
	addProfessor(t, c.data, "prof", "prof-pw-12")

	// No stickiness: consecutive requests reach different instances.
	if a, b := c.answeredBy(), c.answeredBy(); a == "" || a == b {
		t.Fatalf("two requests in a row through the balancer were answered by %q and %q", a, b)
	}

	const program = "print('up', flush=True)\nname = input('name? ')\nprint('hello', name, flush=True)\nimport time\ntime.sleep(600)\n"
	clients := map[string]*http.Client{}
	unique := fmt.Sprintf("class_%d_%d", os.Getpid(), time.Now().UnixNano())
	for _, s := range students {
		clients[s] = login(t, c.lb, s, s+"-pw-1")
	}
	prof := login(t, c.lb, "prof", "prof-pw-12")
	// Each run has a file of its own (running a file again replaces its run).
	start := func(w *wsClient, s, id string) {
		t.Helper()
		save(t, clients[s], c.lb, "Local/"+s+"/"+unique+"_"+id+".py", program)
		w.send(t, map[string]any{"type": "run", "id": id, "path": "Local/" + s + "/" + unique + "_" + id + ".py"})
	}

	// Each student's first connection makes the instance it reached their
	// home; one after the other, round-robin, they land on three instances.
	ws := map[string]*wsClient{}
	for _, s := range students {
		ws[s] = dialWS(t, clients[s], c.lb)
	}
	// Five programs fill the class: alice 2, bob 2, carol 1.
	for s, n := range map[string]int{"alice": 2, "bob": 2, "carol": 1} {
		for i := range n {
			id := fmt.Sprintf("%s%d", s, i)
			start(ws[s], s, id)
			ws[s].until(t, id, "input_request")
		}
	}
	rows, unreachable := table(t, prof, c.lb)
	if len(rows) != 5 || len(unreachable) != 0 {
		t.Fatalf("the teacher's table lists %d programs (want 5), unreachable %v: %+v", len(rows), unreachable, rows)
	}
	home := map[string]string{}
	for _, s := range students {
		for _, r := range rowsOf(rows, s) {
			if r.Instance == "" || (home[s] != "" && home[s] != r.Instance) {
				t.Fatalf("%s's programs are not on one named instance: %+v", s, rows)
			}
			home[s] = r.Instance
		}
	}
	if home["alice"] == home["bob"] || home["bob"] == home["carol"] || home["alice"] == home["carol"] {
		t.Fatalf("three students' first connections in a row did not land on three instances: %v", home)
	}
	// The same table from every instance, asked directly.
	for _, in := range c.inst {
		if got, _ := table(t, prof, in.addr); len(got) != 5 {
			t.Errorf("instance %s's table lists %d programs: %+v", in.id, len(got), got)
		}
	}

	// The sixth is refused whichever instance it would run on: every
	// student is under their own limit of 3, and each has a different home.
	for _, s := range students {
		start(ws[s], s, s+"-sixth")
		m := ws[s].untilAny(t, s+"-sixth", "error", "started")
		if m["type"] != "error" || m["code"] != "limit_reached" || !strings.Contains(fmt.Sprint(m["message"]), "limit of 5 programs") {
			t.Errorf("a sixth program by %s (home %s): %v", s, home[s], m)
		}
	}

	// alice's program started through one connection is answered, stopped
	// and re-attached through each instance that is not its home.
	var others []*instance
	for _, in := range c.inst {
		if in.id != home["alice"] {
			others = append(others, in)
		}
	}
	w1 := dialWS(t, clients["alice"], others[0].addr)
	w1.send(t, map[string]any{"type": "attach", "id": "alice0", "since": 0})
	if out, _ := w1.until(t, "alice0", "input_request"); out != "up\n" {
		t.Errorf("re-attached through %s, alice's program had printed %q", others[0].id, out)
	}
	w1.send(t, map[string]any{"type": "stdin", "id": "alice0", "data": "grace\n"})
	if out := w1.line(t, "alice0"); out != "hello grace\n" {
		t.Errorf("input answered through %s: the program printed %q", others[0].id, out)
	}
	w2 := dialWS(t, clients["alice"], others[1].addr)
	w2.send(t, map[string]any{"type": "stop", "id": "alice0"})
	ws["alice"].until(t, "alice0", "exit") // the first connection sees it end too
	w3 := dialWS(t, clients["alice"], c.lb)
	w3.send(t, map[string]any{"type": "attach", "id": "alice0", "since": 0})
	if _, m := w3.until(t, "alice0", "exit"); m["reason"] != "stopped" {
		t.Errorf("re-attached after the stop: %v", m)
	}

	// Warm interpreters follow the same rule: alice's connections through
	// the other instances warm nothing there; each instance keeps one, for
	// the student whose home it is.
	warm := func(addr string) int {
		var h struct{ Processes struct{ Warm int } }
		json.Unmarshal([]byte(health(t, addr).raw), &h)
		return h.Processes.Warm
	}
	allOne := func() bool {
		for _, in := range c.inst {
			if warm(in.addr) != 1 {
				return false
			}
		}
		return true
	}
	if !waitFor(15*time.Second, allOne) {
		t.Errorf("warm interpreters, by instance: %d %d %d (want one each)", warm(c.inst[0].addr), warm(c.inst[1].addr), warm(c.inst[2].addr))
	}
	time.Sleep(2 * time.Second) // a warm interpreter starts in well under a second
	if !allOne() {
		t.Errorf("with alice connected through every instance, warm interpreters by instance: %d %d %d", warm(c.inst[0].addr), warm(c.inst[1].addr), warm(c.inst[2].addr))
	}

	// The professor stops one of bob's programs from an instance that is
	// not its home; /health and /metrics on any instance count the class.
	stopID, stopOn := rowsOf(rows, "bob")[0].ID, home["bob"]
	for _, in := range c.inst {
		if in.id != stopOn {
			if a := do(t, prof, "DELETE", "http://"+in.addr+"/api/admin/processes/"+stopID, ""); a.status != 204 {
				t.Fatalf("the teacher's Stop through %s of a program on %s: %d %s", in.id, stopOn, a.status, a.body)
			}
			break
		}
	}
	if m := ws["bob"].next(t, "exit"); m["reason"] != "admin" {
		t.Errorf("bob's program after the teacher's Stop: %v", m)
	}
	// Running now: alice1, one of bob's, carol0 (an ended program's row
	// goes just after its exit).
	for _, in := range c.inst {
		var cl classHealthAnswer
		if !waitFor(5*time.Second, func() bool {
			cl = classHealth(t, in.addr)
			return cl.Instance == in.id && len(cl.Cluster.Instances) == 3 && cl.Cluster.Processes == 3 && cl.Cluster.UsersWithPrograms == 3
		}) {
			t.Errorf("/health of %s: %+v", in.id, cl)
		}
		metrics := do(t, http.DefaultClient, "GET", "http://"+in.addr+"/metrics", "").body
		for _, want := range []string{`pythonide_instance_info{instance="` + in.id + `"} 1`, "pythonide_class_instances 3", "pythonide_class_processes 3"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics of %s lacks %s", in.id, want)
			}
		}
	}

	// Fill the class again (carol: 3 of 3, the class: 5 of 5), then
	// SIGKILL carol's home mid-class.
	for _, id := range []string{"carol1", "carol2"} {
		start(ws["carol"], "carol", id)
		ws["carol"].until(t, id, "input_request")
	}
	var dead *instance
	for _, in := range c.inst {
		if in.id == home["carol"] {
			dead = in
		}
	}
	procs := processesOf(t, homeOf(c.data, "carol"))
	killed := time.Now()
	if err := dead.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	dead.cmd.Wait()
	// Its programs end with it (the parent-death signal); within the lease
	// the class forgets the instance and frees the slots it held.
	if !waitFor(10*time.Second, func() bool {
		return allGone(procs)
	}) {
		t.Error("carol's programs outlived the instance that ran them")
	}
	var forgotten time.Duration
	if !waitFor(lease+10*time.Second, func() bool {
		if cl := classHealth(t, c.lb); len(cl.Cluster.Instances) == 2 {
			forgotten = time.Since(killed)
			return cl.Cluster.Processes == 2
		}
		return false
	}) {
		t.Fatalf("the class still counts the killed instance %s after the kill: %+v", lease+10*time.Second, classHealth(t, c.lb))
	}
	t.Logf("the killed instance and its slots were forgotten %s after the kill (lease %s)", forgotten.Round(time.Millisecond), lease)
	rows, unreachable = table(t, prof, c.lb)
	if len(rowsOf(rows, "carol")) != 0 || len(unreachable) != 0 || len(rows) != 2 {
		t.Errorf("the table after the lease: %+v, unreachable %v", rows, unreachable)
	}

	// carol carries on through the balancer: she learns her programs
	// ended, her files are whole, and three new programs of hers run — the
	// class's five slots would not hold them had the dead instance kept its.
	wc := dialWS(t, clients["carol"], c.lb)
	wc.send(t, map[string]any{"type": "attach", "id": "carol0", "since": 0})
	if m := wc.untilAny(t, "carol0", "error", "exit"); m["type"] != "error" || !strings.Contains(fmt.Sprint(m["message"]), "not running") {
		t.Errorf("re-attaching to a program of the killed instance: %v", m)
	}
	for _, s := range students {
		a := do(t, clients[s], "GET", "http://"+c.lb+"/api/files/content?path=Local/"+s+"/"+unique+"_"+s+"0.py", "")
		if a.status != 200 || a.body != program {
			t.Errorf("%s's file after the kill: %d %q", s, a.status, a.body)
		}
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		start(wc, "carol", id)
		wc.until(t, id, "input_request")
	}
	for _, r := range rowsOf(must(table(t, prof, c.lb)), "carol") {
		if r.Instance == dead.id || r.Instance == "" {
			t.Errorf("carol's new program runs on %q", r.Instance)
		}
	}
	save(t, clients["carol"], c.lb, "Local/carol/"+unique+"_carol0.py", "print('carried on')\n")
	if a := do(t, clients["carol"], "GET", "http://"+c.lb+"/api/files/content?path=Local/carol/"+unique+"_carol0.py", ""); a.body != "print('carried on')\n" {
		t.Errorf("carol's save after the kill reads back %q", a.body)
	}

	// The teacher drains carol's new home by name, through the balancer:
	// it leaves the balancer, her running programs may go on for the
	// drain's time and are then stopped saying why, a new run of hers is
	// refused saying why, and her next connection gets a home elsewhere.
	newHome := rowsOf(must(table(t, prof, c.lb)), "carol")[0].Instance
	drain := func(cl *http.Client, instance string) answer {
		req, _ := http.NewRequest("POST", "http://"+c.lb+"/api/admin/drain?instance="+instance, nil)
		req.Header.Set("Origin", "http://"+c.lb)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{status: res.StatusCode, body: string(b)}
	}
	if a := drain(clients["alice"], newHome); a.status != http.StatusForbidden {
		t.Errorf("a student drains an instance: %d %s", a.status, a.body)
	}
	if a := drain(prof, "no-such-instance"); a.status != http.StatusNotFound {
		t.Errorf("draining an unknown instance: %d %s", a.status, a.body)
	}
	if a := drain(prof, newHome); a.status != http.StatusAccepted || !strings.Contains(a.body, "draining") {
		t.Fatalf("the teacher drains %s: %d %s", newHome, a.status, a.body)
	}
	var drained *instance
	for _, in := range c.inst {
		if in.id == newHome {
			drained = in
		}
	}
	if a := do(t, http.DefaultClient, "GET", "http://"+drained.addr+"/readyz", ""); a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "draining") {
		t.Errorf("/readyz of the draining instance: %d %s", a.status, a.body)
	}
	start(wc, "carol", "c4")
	if m := wc.untilAny(t, "c4", "error", "started"); m["type"] != "error" || !strings.Contains(fmt.Sprint(m["message"]), "being replaced") {
		t.Errorf("a new run on the draining instance: %v", m)
	}
	ended := map[any]bool{}
	for range 3 { // in any order
		m := wc.next(t, "exit")
		ended[m["id"]] = true
		if m["reason"] != "shutdown" || m["message"] == "" {
			t.Errorf("carol's %v after the drain's time: %v", m["id"], m)
		}
	}
	if !ended["c1"] || !ended["c2"] || !ended["c3"] {
		t.Errorf("after the drain's time, ended: %v", ended)
	}
	// Once her programs have ended (as the refusal told her), her next
	// connection goes elsewhere.
	if !waitFor(10*time.Second, func() bool { return len(rowsOf(must(table(t, prof, c.lb)), "carol")) == 0 }) {
		t.Fatalf("carol's drained programs are still listed: %+v", must(table(t, prof, c.lb)))
	}
	wd := dialWS(t, clients["carol"], c.lb)
	start(wd, "carol", "c5")
	wd.until(t, "c5", "input_request")
	for _, r := range rowsOf(must(table(t, prof, c.lb)), "carol") {
		if r.Instance == newHome || r.Instance == dead.id {
			t.Errorf("carol's run after the drain is on %s", r.Instance)
		}
	}
}

func must[T, U any](v T, _ U) T { return v }

type classHealthAnswer struct {
	Instance string
	Cluster  struct {
		Instances         []string
		Processes         int
		UsersWithPrograms int `json:"users_with_programs"`
	}
}

func classHealth(t *testing.T, addr string) classHealthAnswer {
	t.Helper()
	var h classHealthAnswer
	json.Unmarshal([]byte(health(t, addr).raw), &h)
	return h
}

// line reads id's output up to the end of a line.
func (w *wsClient) line(t *testing.T, id string) string {
	t.Helper()
	var out string
	for !strings.HasSuffix(out, "\n") {
		chunk, _ := w.until(t, id, "stdout")
		out += chunk
	}
	return out
}

// next returns the first message of type typ, whichever program's.
func (w *wsClient) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	return w.first(t, typ, func(m map[string]any) bool { return m["type"] == typ })
}

// untilAny returns id's first message of type a or b.
func (w *wsClient) untilAny(t *testing.T, id, a, b string) map[string]any {
	t.Helper()
	return w.first(t, a+" or "+b+" of "+id, func(m map[string]any) bool {
		return m["id"] == id && (m["type"] == a || m["type"] == b)
	})
}

// first returns the first message match accepts (it sees every one).
func (w *wsClient) first(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				t.Fatalf("connection closed while waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s within 30 s", what)
		}
	}
}

// TestClassLoadThroughBalancer runs the load generator through the
// balancer at 38 and 114 students: every run receives exactly its own
// output and every save is read back as saved, whichever instances the
// requests reach. The class's limits are the defaults, held across the
// instances (at 114 the active-user limit refuses runs: refusals, not
// failures). PYTHONIDE_CLUSTER_LOAD_DURATION sets how long each class
// works (15s; docs/benchmarks.md gives 60s runs).
func TestClassLoadThroughBalancer(t *testing.T) {
	if testing.Short() {
		t.Skip("loads three real servers for about a minute")
	}
	duration := 15 * time.Second
	if d, err := time.ParseDuration(os.Getenv("PYTHONIDE_CLUSTER_LOAD_DURATION")); err == nil {
		duration = d
	}
	c := newClass(t, 3)
	addProfessor(t, c.data, "teacher", "teacher-pw-1")
	for _, users := range []int{38, 114} {
		name := fmt.Sprintf("class%d", users)
		report := filepath.Join(c.dir, name+".json")
		ramp := time.Duration(users) * 100 * time.Millisecond
		out, err := command(t, c.data, "loadtest", "--url", "http://"+c.lb, "--json", report, "--seed", "7",
			"--users", fmt.Sprint(users), "--user-prefix", name+"-", "--duration", duration.String(), "--ramp", ramp.String(),
			"--server-pid", fmt.Sprint(c.inst[0].cmd.Process.Pid),
			"--admin-user", "teacher", "--admin-password", "teacher-pw-1").CombinedOutput()
		t.Logf("%d students through the balancer:\n%s", users, out)
		rep, rerr := loadtest.ReadReport(report)
		if rerr != nil {
			t.Fatalf("%s: %v, no report: %v", name, err, rerr)
		}
		if rep.Output.Runs == 0 || rep.Output.Clean != rep.Output.Runs || rep.Output.Anomalies() != 0 {
			t.Errorf("%d students: %d of %d runs received exactly their own output: %+v", users, rep.Output.Clean, rep.Output.Runs, rep.Output)
		}
		for kind, n := range rep.Failures {
			if strings.HasPrefix(kind, "save") || strings.HasPrefix(kind, "open") {
				t.Errorf("%d students: %d × %s (a save lost or refused)", users, n, kind)
			}
		}
		// At 38 every operation succeeds. At 114, three servers, the
		// students' programs and the load generator share this machine's
		// cores with the rest of the test suite: a wait may time out
		// (reported above), but output and saves must still be exact.
		if users == 38 && (err != nil || rep.FailureCount != 0) {
			t.Errorf("38 students: %v, failures %v (%v)", err, rep.Failures, rep.FailureExamples)
		}
		if rep.Ops[loadtest.OpSave].Count == 0 || rep.Ops[loadtest.OpFirstOutput].Count == 0 {
			t.Errorf("%d students: no save or run measured", users)
		}
	}
}
