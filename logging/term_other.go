//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package logging

// isTerminalFd reports false where no terminal check is wired up: such
// systems get JSON, which is always safe to read.
func isTerminalFd(uintptr) bool { return false }
