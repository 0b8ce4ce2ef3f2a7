//go:build unix

package secret_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/secret"
)

// goroutineBlockedIn waits until a goroutine whose stack holds fn waits for
// I/O.
func goroutineBlockedIn(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for range 5000 {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, fn) && strings.Contains(g, "[IO wait") {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no goroutine blocked reading in %s", fn)
}

// A Purge while ReadAll is blocked reading a FIFO, between or inside the
// scratch cells it grows through, must not crash the process, and ReadAll
// returns a cell or ErrDestroyed.
func TestPurgeWhileReadAllReadsAFIFO(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first int // bytes written before the Purge
	}{
		{"inside the first scratch cell", 0},
		{"after the first scratch cell filled up", 600},
		{"a run of its own", 5000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("no FIFO here: %v", err)
			}
			content := []byte(strings.Repeat(marker(t), 8000/28))
			done := make(chan readResult, 1)
			go func() {
				f, err := os.Open(fifo) // waits for the writer
				if err != nil {
					done <- readResult{err: err}
					return
				}
				defer f.Close()
				v, err := secret.ReadAll(f)
				done <- readResult{v, err}
			}()
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader to open it
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(content[:tt.first]); err != nil {
				t.Fatal(err)
			}
			goroutineBlockedIn(t, "secret.readUnsized")
			secret.Purge()
			_, _ = w.Write(content[tt.first:])
			w.Close()
			res := <-done
			switch {
			case res.err == nil:
				if !res.v.Equal(content) {
					t.Error("the cell does not hold what came through the FIFO")
				}
			case !errors.Is(res.err, secret.ErrDestroyed):
				t.Errorf("ReadAll returned %v, want a cell or ErrDestroyed", res.err)
			}
			res.v.Destroy()
			checkPurgedCleanly(t)
		})
	}
}
