//go:build unix

package secret_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// ReadFile takes regular files only, and refuses everything else without
// reading it: above all a named pipe nobody writes to, which an open
// without O_NONBLOCK would wait on for ever.
func TestReadFileRefusesAnythingButARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer ln.Close()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, says string }{
		{"a named pipe nobody writes to", fifo, "is a named pipe"},
		{"a symbolic link to a named pipe", link, "is a named pipe"},
		{"a character device", "/dev/null", "is a character device"},
		{"a directory", dir, "is a directory"},
		{"a socket", sock, ""}, // open(2) itself refuses a socket
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused at once", func(t *testing.T) {
			type result struct {
				v   secret.Value
				err error
			}
			done := make(chan result, 1)
			go func() {
				v, err := secret.ReadFile(tt.path)
				done <- result{v, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			if r.err == nil {
				r.v.Destroy()
				t.Fatal("ReadFile accepted it")
			}
			if tt.says == "" {
				return
			}
			var nr *secret.NotRegularError
			if !errors.Is(r.err, secret.ErrNotRegular) || !errors.As(r.err, &nr) || !strings.Contains(r.err.Error(), tt.says) {
				t.Errorf("err = %v, want a NotRegularError saying %q", r.err, tt.says)
			}
		})
	}
	t.Run("a symbolic link to a regular file is followed", func(t *testing.T) {
		l := filepath.Join(dir, "ok-link")
		if err := os.Symlink(regular, l); err != nil {
			t.Fatal(err)
		}
		v, err := secret.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		if !v.Equal([]byte("x")) {
			t.Error("the cell does not hold the file")
		}
	})
}
