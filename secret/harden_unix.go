//go:build unix

package secret

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func noCoreDumps() error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return fmt.Errorf("secret: getrlimit(RLIMIT_CORE): %w", err)
	}
	lim.Cur = 0
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return fmt.Errorf("secret: setrlimit(RLIMIT_CORE): %w", err)
	}
	return nil
}
