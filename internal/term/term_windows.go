package term

import (
	"errors"

	"golang.org/x/sys/windows"
)

// IsTerminal reports whether fd (a handle) refers to a console.
func IsTerminal(fd uintptr) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(fd), &mode) == nil
}

// NoEcho is not implemented on Windows yet; it wraps
// errors.ErrUnsupported.
func NoEcho(int) (func() error, error) {
	return nil, errors.ErrUnsupported
}
