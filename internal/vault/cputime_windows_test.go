package vault

import (
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the CPU time this process has used, and whether it is known:
// a bound on it holds on a loaded machine, where one on the wall clock
// does not.
func cpuTime() (time.Duration, bool) {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		return 0, false
	}
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) } // 100 ns each
	return time.Duration(ticks(kernel)+ticks(user)) * 100, true
}
