//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package secret

import (
	"errors"
	"fmt"
	"runtime"
)

// ReadPassword is not available on this system: reading a terminal without
// echo needs termios. It returns an error that wraps errors.ErrUnsupported.
func ReadPassword(fd int, opts ...Option) (Value, error) {
	return Value{}, fmt.Errorf("secret: ReadPassword on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
