//go:build !unix && !windows

package config

import "os"

// openNoBlock opens path for reading; these systems have no named pipes
// in the file system that an open could wait on.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
