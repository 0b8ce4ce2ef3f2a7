//go:build linux

package secret

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// HardenProcess makes the whole process harder to dump: it sets the soft
// RLIMIT_CORE to 0 (the hard limit is untouched) and, on Linux, clears the
// dumpable flag (PR_SET_DUMPABLE 0), which also stops same-user processes
// from attaching with ptrace or reading /proc/PID/mem. It is opt-in because
// it changes process-wide behaviour that debuggers and crash reporters rely
// on. Nothing calls it at import time.
func HardenProcess() error {
	if err := noCoreDumps(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("secret: prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}
