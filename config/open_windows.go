package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// openNoBlock opens path for reading, sharing it as far as Windows
// lets a reader: other processes may read it, write it, delete it and
// rename it away while it is open. Go's os.Open leaves out
// FILE_SHARE_DELETE, and a delete then fails with a sharing violation
// whenever a poll of Watch holds the file open. A rename over the file
// with POSIX semantics (FileRenameInfoEx) needs the share too; a plain
// MoveFileEx over it (os.Rename) fails with "Access is denied" while any
// handle is open, whatever its share mode, so such a writer must retry,
// as it must against virus scanners and indexers. Windows has no named
// pipes in the file system that an open could wait on.
func openNoBlock(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		// BACKUP_SEMANTICS opens a directory too, for the fstat to refuse
		// it by name rather than the open with "Access is denied".
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
