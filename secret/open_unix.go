//go:build unix

package secret

import (
	"os"
	"syscall"
)

// openNoBlock opens path for reading without waiting for a writer: a
// named pipe opens at once, so the caller's Stat can refuse it. Reads
// from a regular file are not affected by the flag.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
