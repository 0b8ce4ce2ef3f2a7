//go:build unix

package config

import (
	"io/fs"
	"os"
	"syscall"
)

// readableByEveryone reports whether the file's mode lets every user of
// the system read it.
func readableByEveryone(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o004 != 0 }

// openNoBlock opens path for reading without waiting for a writer, so
// that a named pipe opens at once and its fstat can refuse it. Reading a
// regular file is not affected by the flag.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
