package term

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/internal/testpty"
)

func TestIsTerminalTellsATerminalFromAFileAndAPipe(t *testing.T) {
	_, tty := testpty.Open(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		name string
		fd   uintptr
		want bool
	}{
		{"a pseudo-terminal", tty.Fd(), true},
		{"a regular file", f.Fd(), false},
		{"a pipe", r.Fd(), false},
	} {
		if got := IsTerminal(c.fd); got != c.want {
			t.Errorf("IsTerminal(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNoEchoTurnsEchoOffAndRestoresIt(t *testing.T) {
	_, tty := testpty.Open(t)
	fd := int(tty.Fd())
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ECHO == 0 {
		t.Fatal("a new terminal has echo off: the test proves nothing")
	}
	restore, err := NoEcho(fd)
	if err != nil {
		t.Fatal(err)
	}
	during, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if during.Lflag&unix.ECHO != 0 || during.Lflag&unix.ISIG == 0 || during.Lflag&unix.ICANON == 0 {
		t.Errorf("while quiet: lflag %#x, want ECHO off and ICANON, ISIG on", during.Lflag)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if *after != *before {
		t.Error("the terminal was not restored as it was")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := NoEcho(int(f.Fd())); err == nil {
		t.Error("NoEcho accepted a regular file")
	}
}
