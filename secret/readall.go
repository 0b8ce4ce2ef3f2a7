package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNotRegular: ReadFile was given something other than a regular file:
// a named pipe, a device, a socket or a directory. It is refused without
// reading; ReadAll reads pipes and standard input on purpose. The error
// is a *NotRegularError.
var ErrNotRegular = errors.New("secret: not a regular file")

// NotRegularError says what a path that should name a regular file names
// instead. It matches ErrNotRegular with errors.Is. Loaders that check a
// file themselves (config reads secret files with one fstat) return it
// too, so the words are the same everywhere.
type NotRegularError struct {
	Path string
	Mode fs.FileMode // the file's mode, from Stat
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: %s is %s", ErrNotRegular, e.Path, fileKind(e.Mode))
}

// Is reports whether target is ErrNotRegular.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

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
