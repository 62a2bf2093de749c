package sandbox

import (
	"encoding/binary"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp program closes what namespaces and Landlock leave open: any
// socket but AF_UNIX (Landlock does not stop UDP), new namespaces and user
// namespaces, mounts, ptrace and other kernel attack surface a student
// program has no use for. Denied calls fail with EPERM, so Python raises a
// readable PermissionError instead of dying.

// deniedSyscalls fail with EPERM.
var deniedSyscalls = []uintptr{
	unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT,
	unix.SYS_CHROOT, unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE,
	unix.SYS_DELETE_MODULE, unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD,
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_REBOOT, unix.SYS_SWAPON,
	unix.SYS_SWAPOFF, unix.SYS_ACCT, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	unix.SYS_FSOPEN, unix.SYS_FSMOUNT, unix.SYS_FSCONFIG, unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT,
	unix.SYS_OPEN_TREE, unix.SYS_MOUNT_SETATTR, unix.SYS_QUOTACTL, unix.SYS_SYSLOG,
	unix.SYS_VHANGUP, unix.SYS_PROCESS_MADVISE, unix.SYS_PIDFD_GETFD,
	// io_uring operations are not seen by seccomp, so they would bypass it.
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
}

// cloneNSFlags are the clone(2) flags that create namespaces.
const cloneNSFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// auditArch is the AUDIT_ARCH of the build; other architectures are killed
// so a 32-bit syscall table cannot be used to dodge the filter.
func auditArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	}
	return 0, false
}

// offsets into struct seccomp_data
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian
)

// linkSyscalls make symbolic links: refused too with Spec.NoLinks.
func linkSyscalls() []uintptr {
	if runtime.GOARCH == "amd64" {
		return []uintptr{unix.SYS_SYMLINKAT, 88} // 88: symlink(2), which arm64 does not have
	}
	return []uintptr{unix.SYS_SYMLINKAT}
}

// seccompProgram assembles the filter (refusing symbolic links too when
// noLinks); ok is false on unsupported arches.
func seccompProgram(noLinks bool) ([]unix.SockFilter, bool) {
	arch, ok := auditArch()
	if !ok {
		return nil, false
	}
	const (
		retAllow = unix.SECCOMP_RET_ALLOW
		retKill  = unix.SECCOMP_RET_KILL_PROCESS
		retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		retNoSys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	var p []unix.SockFilter
	stmt := func(code uint16, k uint32) { p = append(p, unix.SockFilter{Code: code, K: k}) }
	// jeq appends "if A == k goto +jt" with jt filled in later by the caller.
	jeq := func(k uint32, jt uint8) {
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, K: k})
	}

	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch)
	jeq(arch, 1)
	stmt(unix.BPF_RET|unix.BPF_K, retKill)
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
	if runtime.GOARCH == "amd64" {
		// x32 syscalls share AUDIT_ARCH_X86_64; refuse them all.
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, Jt: 0, Jf: 1, K: 0x40000000})
		stmt(unix.BPF_RET|unix.BPF_K, retEPERM)
	}
	// clone3 passes flags in memory seccomp cannot read: make libc fall back to clone.
	jeq(unix.SYS_CLONE3, 0)
	p[len(p)-1].Jf = 1
	stmt(unix.BPF_RET|unix.BPF_K, retNoSys)
	denied := deniedSyscalls
	if noLinks {
		denied = append(append([]uintptr{}, denied...), linkSyscalls()...)
	}
	for _, nr := range denied {
		p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(nr)})
		stmt(unix.BPF_RET|unix.BPF_K, retEPERM)
	}
	// clone: refuse namespace flags (arg0 on both amd64 and arm64).
	p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.SYS_CLONE})
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArg0)
	p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, Jt: 0, Jf: 1, K: cloneNSFlags})
	stmt(unix.BPF_RET|unix.BPF_K, retEPERM)
	// After the clone block A may hold arg0; reload the number.
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
	// socket: only AF_UNIX.
	p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.SYS_SOCKET})
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArg0)
	p = append(p, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: unix.AF_UNIX})
	stmt(unix.BPF_RET|unix.BPF_K, retEPERM)
	stmt(unix.BPF_RET|unix.BPF_K, retAllow)
	return p, true
}

// seccompBytes is the program in the raw form bwrap --seccomp reads.
func seccompBytes(p []unix.SockFilter) []byte {
	out := make([]byte, 0, 8*len(p))
	for _, f := range p {
		out = binary.LittleEndian.AppendUint16(out, f.Code)
		out = append(out, f.Jt, f.Jf)
		out = binary.LittleEndian.AppendUint32(out, f.K)
	}
	return out
}

// installSeccomp loads the program on the calling thread (no_new_privs must be set).
func installSeccomp(p []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(p)), Filter: &p[0]}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}
