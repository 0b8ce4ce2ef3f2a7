package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
)

// A file config holds open, as a poll of Watch does while it reads it,
// can be deleted or renamed away meanwhile, as on Unix: openNoBlock
// shares it for deletion, which os.Open does not. (A rename over it with
// MoveFileEx fails while it is open whatever the share mode: see
// renameRetrying.)
func TestAFileBeingReadCanBeDeletedOrRenamedAway(t *testing.T) {
	for _, c := range []struct {
		name string
		do   func(path string) error
	}{
		{"delete", os.Remove},
		{"rename away", func(path string) error { return os.Rename(path, path+".old") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "a: 1\n", 0o600)
			f, _, err := openRegular(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := c.do(p); err != nil {
				t.Errorf("%s a file config has open: %v", c.name, err)
			}
		})
	}
}
