package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Reason is why a process ended; the strings are the wire values of the
// exit message's "reason" and the label values of the exit metric.
type Reason string

const (
	ReasonExited      Reason = "exited"       // the program finished
	ReasonError       Reason = "error"        // it ended with an exception, or could not start
	ReasonStopped     Reason = "stopped"      // its owner pressed stop
	ReasonTimeout     Reason = "timeout"      // over the wall-clock limit
	ReasonCPULimit    Reason = "cpu_limit"    // over the CPU-time limit (the sandbox's)
	ReasonMemoryLimit Reason = "memory_limit" // over the memory limit
	ReasonOutputLimit Reason = "output_limit" // printed too much or too fast
	ReasonIdle        Reason = "idle"         // did nothing for too long, or waited too long for input
	ReasonAbandoned   Reason = "abandoned"    // its owner was gone too long
	ReasonAdmin       Reason = "admin"        // a professor stopped it
	ReasonShutdown    Reason = "shutdown"     // the server is stopping
)

// Reasons lists every reason, so a metric can create each label value at
// start-up instead of when the first such exit happens.
func Reasons() []Reason {
	return []Reason{
		ReasonExited, ReasonError, ReasonStopped, ReasonTimeout, ReasonCPULimit, ReasonMemoryLimit,
		ReasonOutputLimit, ReasonIdle, ReasonAbandoned, ReasonAdmin, ReasonShutdown,
	}
}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, v := range Reasons() {
		if r == v {
			return true
		}
	}
	return false
}

// Message is the plain sentence a student sees when a process ends for r,
// using the limits in force. Cleanup decisions carry a more specific message
// where there is one (e.g. a wait for input that went on too long).
func (r Reason) Message(l Limits) string {
	switch r {
	case ReasonExited:
		return "The program finished."
	case ReasonError:
		return "The program stopped because of an error."
	case ReasonStopped:
		return "You stopped the program."
	case ReasonTimeout:
		return fmt.Sprintf("Stopped: your program ran for more than %s (time spent waiting for input does not count).", humanDuration(l.WallClock))
	case ReasonCPULimit:
		return "Stopped: your program used too much processor time."
	case ReasonMemoryLimit:
		return fmt.Sprintf("Stopped: your program used more than %s of memory.", humanBytes(l.MemoryPerProc))
	case ReasonOutputLimit:
		return "Stopped: your program printed too much output too quickly."
	case ReasonIdle:
		return fmt.Sprintf("Stopped: your program did nothing for %s.", humanDuration(l.IdleTimeout))
	case ReasonAbandoned:
		return fmt.Sprintf("Stopped: you were disconnected for more than %s.", humanDuration(l.AbandonGrace))
	case ReasonAdmin:
		return "Stopped by your teacher."
	case ReasonShutdown:
		return "Stopped because the server is restarting. Please run it again."
	}
	return "The program stopped."
}

// Messages for cleanup decisions that are more precise than their reason's.

// InputTimeoutMessage: a program waited in input() longer than the limit.
func InputTimeoutMessage(l Limits) string {
	return fmt.Sprintf("Stopped: your program waited more than %s for input.", humanDuration(l.InputTimeout))
}

// StartTimeoutMessage: a spawn never reported that it started. The sandbox
// was too slow (a machine out of breath), so trying again may work; ref is
// the reference logged with it (RefFor).
func StartTimeoutMessage(ref string) string {
	return "Your program could not be started because the server took too long to start it. " +
		"This is a problem on the server, not in your program. " +
		"Try again in a minute; if it keeps happening, tell your teacher and give them the reference " + ref + "."
}

// NewRef is a new reference for a failure on the server's side: "R-" and 6
// random lower-case hex digits, shown to the student and logged (attribute
// "ref") with the real cause, so the teacher can find it in the log. It
// names one failure among the few of a term, not a secret.
func NewRef() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "R-" + hex.EncodeToString(b[:])
}

// RefFor is the reference of a failure of the process the registry holds
// as id: the same every time (a sweep decides the same again until the
// process is gone, and must not name it anew), in NewRef's form.
func RefFor(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "R-" + hex.EncodeToString(sum[:3])
}

// humanDuration says a limit the way a teacher would: "5 minutes", "1 hour",
// "90 seconds".
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return count(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return count(int64(d/time.Minute), "minute")
	case d >= time.Second:
		return count(int64(d/time.Second), "second")
	}
	return d.String()
}

// humanBytes says a size in whole MB or GB (binary units, as the kernel
// counts them; students need not know the difference).
func humanBytes(b int64) string {
	if b >= GiB && b%GiB == 0 {
		return fmt.Sprintf("%d GB", b/GiB)
	}
	if b >= MiB {
		return fmt.Sprintf("%d MB", b/MiB)
	}
	return fmt.Sprintf("%d bytes", b)
}

func count(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
