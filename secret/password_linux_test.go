//go:build linux

package secret_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/secret"
)

// openPTY returns the controlling side and the terminal side of a new
// pseudo-terminal.
func openPTY(t *testing.T) (ctl *os.File, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestReadPasswordReadsWithoutEchoAndRestoresTheTerminal(t *testing.T) {
	ctl, tty := openPTY(t)
	fd := int(tty.Fd())
	m := marker(t)
	type result struct {
		v   secret.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := secret.ReadPassword(fd)
		done <- result{v, err}
	}()
	// Type only once echo is off, as a person would after the prompt.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ReadPassword never turned echo off")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := ctl.WriteString(m + "\n"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.v.Destroy()
	if !holds(r.v, m) {
		t.Error("the password read is not what was typed")
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Error("the terminal's echo was not restored")
	}
	// Whatever the terminal echoed is waiting on the controlling side.
	var echoed []byte
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(ctl.Fd()), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 200); err != nil || n == 0 {
			break
		}
		n, err := unix.Read(int(ctl.Fd()), buf)
		if err != nil || n <= 0 {
			break
		}
		echoed = append(echoed, buf[:n]...)
	}
	if strings.Contains(string(echoed), m) {
		t.Error("the terminal echoed the password")
	}
}

func TestReadPasswordRefusesANonTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := secret.ReadPassword(int(f.Fd())); err == nil || !strings.Contains(err.Error(), "not a terminal") {
		t.Errorf("ReadPassword on /dev/null: %v", err)
	}
}
