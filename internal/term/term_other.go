//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package term

import "errors"

// IsTerminal reports false where no terminal check is wired up: callers
// then choose what is safe for a file or a pipe.
func IsTerminal(uintptr) bool { return false }

// NoEcho needs termios, which this system does not offer through
// golang.org/x/sys; it wraps errors.ErrUnsupported.
func NoEcho(int) (func() error, error) {
	return nil, errors.ErrUnsupported
}
