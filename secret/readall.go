package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNotRegular: ReadFile was given something other than a regular file:
// a named pipe, a device, a socket or a directory. It is refused without
// reading; ReadAll reads pipes and standard input on purpose.
var ErrNotRegular = errors.New("secret: not a regular file")

// notRegular describes what path is instead of a regular file.
func notRegular(path string, m fs.FileMode) error {
	return fmt.Errorf("%w: %s is %s (read pipes and standard input with ReadAll)", ErrNotRegular, path, fileKind(m))
}

// fileKind names the type of file m describes.
func fileKind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// ReadAll reads r until it ends, straight into a new cell, for secrets
// that arrive through a pipe or standard input (secret.ReadAll(os.Stdin)):
// each read writes into protected memory that grows as needed, so no
// copy is left on the heap. It reads at most 64 KiB and fails with
// ErrSize on more; it blocks as long as r does. With TrimNewline, a
// trailing newline is dropped inside the cell.
func ReadAll(r io.Reader, opts ...Option) (Value, error) {
	return readUnsized(r, "the input", opts)
}
