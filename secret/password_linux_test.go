//go:build linux

package secret_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/internal/testpty"
	"github.com/secretmem/secretmem/secret"
)

// typePassword runs ReadPassword(opts) on a new terminal and types line
// once echo is off. It returns the controlling side and the terminal fd.
func typePassword(t *testing.T, line string, opts ...secret.Option) (secret.Value, *os.File, int) {
	t.Helper()
	ctl, tty := testpty.Open(t)
	fd := int(tty.Fd())
	type result struct {
		v   secret.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := secret.ReadPassword(fd, opts...)
		done <- result{v, err}
	}()
	// Type only once echo is off, as a person would after the prompt.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("ReadPassword returned before anything was typed: %v", r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("ReadPassword never turned echo off")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := ctl.WriteString(line); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(r.v.Destroy)
	return r.v, ctl, fd
}

func TestReadPasswordReadsWithoutEchoAndRestoresTheTerminal(t *testing.T) {
	m := marker(t)
	v, ctl, fd := typePassword(t, m+"\n")
	if !holds(v, m) {
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

func TestReadPasswordCanSeal(t *testing.T) {
	m := marker(t)
	v, _, _ := typePassword(t, m+"\r\n", secret.Sealed(), secret.Volatile(), secret.Label("pw"))
	if inArena(m) {
		t.Error("the password of a sealed ReadPassword is in protected memory at rest")
	}
	if v.Len() != len(m) || v.String() != "[REDACTED pw]" {
		t.Errorf("the sealed password has length %d and prints as %q", v.Len(), v.String())
	}
	err := v.Use(func(b []byte) error {
		if string(b) != m {
			return errors.New("the sealed password is not what was typed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrConsumed) {
		t.Errorf("a second read of a volatile sealed password: %v", err)
	}
	g, _, _ := typePassword(t, m+"\n", secret.Sealed(), secret.Guarded())
	if !holds(g, m) || inArena(m) {
		t.Error("a sealed, guarded password does not read back, or is in memory at rest")
	}
}
