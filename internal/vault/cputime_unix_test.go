//go:build unix

package vault

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, and whether it is known:
// a bound on it holds on a loaded machine, where one on the wall clock
// does not.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
