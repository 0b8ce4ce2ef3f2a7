package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// openNoBlock opens path for reading, sharing it as Unix does: other
// processes may read it, write it, and rename over it or delete it while
// it is open. Go's os.Open leaves out FILE_SHARE_DELETE, and a writer
// that replaces a file atomically (MoveFileEx over it, as a rename) then
// fails with "Access is denied" whenever a poll of Watch holds the file
// open. Windows has no named pipes in the file system that an open could
// wait on.
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
