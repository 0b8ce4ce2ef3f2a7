//go:build !unix

package config

import (
	"io/fs"
	"os"
)

// readableByEveryone makes no check on Windows and other systems without
// Unix permission bits: Windows grants access through ACLs, which the
// mode Go reports does not describe, so a secret file readable by every
// user is not reported there (Strict cannot refuse it either).
func readableByEveryone(fs.FileInfo) bool { return false }

// openNoBlock opens path for reading; these systems have no named pipes
// in the file system that an open could wait on.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
