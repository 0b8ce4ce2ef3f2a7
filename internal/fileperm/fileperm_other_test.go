//go:build !windows

package fileperm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTheOtherReadBitDecides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode os.FileMode
		want bool
	}{
		{0o600, false},
		{0o640, false}, // the group is not every user
		{0o644, true},
		{0o604, true},
		{0o004, true},
		{0o000, false},
	} {
		if err := os.Chmod(path, c.mode); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			// Mode 000: root opens it anyway; anyone else cannot, and
			// there is nothing to ask.
			t.Logf("mode %v: %v", c.mode, err)
			continue
		}
		got, err := WorldReadable(f)
		f.Close()
		if err != nil || got != c.want {
			t.Errorf("mode %v: WorldReadable = %v, %v; want %v", c.mode, got, err, c.want)
		}
	}
}
