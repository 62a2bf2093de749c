// Package cgroup is the one place that reads and writes the cgroup file
// system, in its three shapes: v2 alone, v1 controllers alone, and the hybrid
// of both (v1 controllers for limits, a v2 tree without controllers for
// placement and cgroup.kill), as shared/SANDBOX.md measured them.
//
// Two users share it. The sandbox makes a subtree below the server's own
// cgroup and a cgroup per student process in it (Tree, Group): limits,
// placement, membership, kill, freeze, usage. The monitor reads the limits
// and usage of the server's own cgroup (Self, Place): what the server and its
// students may use, container-aware.
//
// Everything goes through an FS, so the monitor's readers are tested on
// fixture trees and the subtree's logic on a file system that fails on
// purpose; Root("/") is the machine's. The package sends no signal: killing
// the processes of a group is the sandbox's (it writes cgroup.kill through
// Group.KillAll, or freezes the group and signals each member itself).
package cgroup
