package cleanup

import (
	"context"
	"errors"
	"log/slog"

	"github.com/pythonide/pythonide/internal/sandbox"
)

// ReapLeftovers kills, at start-up, what servers that no longer run left
// behind below this server's cgroup name (crashed, SIGKILLed, or older
// versions), and removes their cgroups: the subtree of every server whose
// pid and start time no longer match a live process, process groups of the
// layout before instance subtrees, and groups in this server's own subtree
// it did not start. A live neighbour's subtree (another server with the
// same --cgroup-name) is never touched. It returns how many processes it
// killed.
func ReapLeftovers(ctx context.Context, sb *sandbox.Sandbox, log *slog.Logger) (int, error) {
	lo := sb.Leftovers()
	killed := 0
	var errs []error
	reap := func(instance string, names []string) {
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			n, err := sb.ReapGroup(instance, name)
			killed += n
			if err != nil {
				errs = append(errs, err)
				continue
			}
			log.Warn("reaped a leftover cgroup", "instance", instance, "name", name, "processes", n)
		}
	}
	reap(sb.Instance(), lo.Own)
	reap("", lo.Loose)
	for inst, names := range lo.Instances {
		if sandbox.InstanceRunning(inst) {
			continue
		}
		reap(inst, names)
		if err := sb.RemoveInstance(inst); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Warn("removed the cgroup subtree of a server that no longer runs", "instance", inst)
	}
	if ctx.Err() != nil {
		return killed, ctx.Err()
	}
	return killed, errors.Join(errs...)
}
