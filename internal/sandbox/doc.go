// Package sandbox starts student Python processes confined by every layer the
// host offers, measures them, kills their whole process tree and reports why
// they ended. It is mechanism only: who may run what, admission limits,
// wall-clock and idle timers live in the registry and runner.
//
// How a process is started (see shared/SANDBOX.md for the measurements):
//
//  1. The server re-execs itself (/proc/self/exe) in helper mode. On cgroup v2
//     the helper is born inside its own cgroup (clone3 CLONE_INTO_CGROUP via
//     SysProcAttr.UseCgroupFD), so nothing it forks can escape; on v1 the
//     helper writes its own pid into its v1 cgroups before it execs anything.
//  2. The helper, still root, sets rlimits (CPU, FSIZE, NOFILE, CORE, STACK, and
//     DATA when no memory cgroup exists), then drops to the unprivileged
//     uid/gid, sets no_new_privs and re-arms PDEATHSIG (setresuid clears it).
//  3. It then execs bubblewrap *unprivileged*: bwrap builds a user, pid, net,
//     ipc, uts and mount namespace with only /usr, a minimal /etc, the owner's
//     home (read-write) and course folders (read-only), and loads our seccomp
//     program through --seccomp. Running bwrap after the uid drop, rather than
//     as root with --uid, means the student's real uid outside is never root:
//     files it creates belong to the unprivileged uid, and a kernel bug in the
//     namespace code gives an attacker nobody, not root.
//     Without bwrap the helper applies Landlock and seccomp itself, then execs
//     python directly. (Landlock is not combined with bwrap: a Landlocked task
//     may not mount, and bwrap's mount namespace already confines files.)
//
// Cgroups are made and read through internal/cgroup. Every kill goes through
// killTree (kill.go): cgroup.kill (v2), else the freezer (freeze, SIGKILL
// every member, thaw), else each member, plus the process group and bwrap's
// pid namespace.
package sandbox
