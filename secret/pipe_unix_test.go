//go:build unix

package secret_test

import (
	"os"
	"strconv"
	"testing"
)

// pipePath returns a path that reads content through a pipe: /dev/fd/N
// of the read end of an os.Pipe, which stays open until t ends.
func pipePath(t testing.TB, content []byte) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	go func() {
		_, _ = w.Write(content)
		w.Close()
	}()
	path := "/dev/fd/" + strconv.Itoa(int(r.Fd()))
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no /dev/fd here: %v", err)
	}
	return path
}
