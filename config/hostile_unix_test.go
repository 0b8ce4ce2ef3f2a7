//go:build unix

package config

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// A named pipe (or a device, or a socket) where a secret file or the
// configuration file belongs is refused at once: open(2) of a FIFO nobody
// writes to waits for ever.
func TestNonRegularFilesAreRefusedAtOnce(t *testing.T) {
	dir := wine.TempDir(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	fifoYAML := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifoYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(dir, "vol")
	writeFile(t, filepath.Join(vol, "ok"), "x", 0o600)
	if err := syscall.Mkfifo(filepath.Join(vol, "db.password"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ref := func(target string) Option {
		return File(writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "db:\n  conn: file:"+target+"\n", 0o600))
	}
	tests := []struct {
		name string
		opts func() []Option
		want error
		says string
	}{
		{"a FIFO in a secret directory", func() []Option { return []Option{SecretDir(vol)} }, ErrSecretFile, "named pipe"},
		{"a _FILE variable naming a FIFO", func() []Option {
			t.Setenv("NR_DB__PASSWORD_FILE", fifo)
			return []Option{Env("NR_")}
		}, ErrSecretFile, "named pipe"},
		{"a file: reference to a FIFO", func() []Option { return []Option{ref(fifo)} }, ErrSecretFile, "named pipe"},
		{"a file: reference to a device", func() []Option { return []Option{ref("/dev/null")} }, ErrSecretFile, "device"},
		{"a file: reference to a socket", func() []Option { return []Option{ref(sock)} }, ErrSecretFile, ""},
		{"a configuration file that is a FIFO", func() []Option { return []Option{File(fifoYAML)} }, secret.ErrNotRegular, "named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts()
			done := make(chan error, 1)
			go func() {
				cfg, err := Load(opts...)
				if err == nil {
					cfg.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
					t.Errorf("err = %v, want %v saying %q", err, tt.want, tt.says)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Load blocked")
			}
		})
	}
}
