//go:build linux

package testpty

import (
	"io"
	"testing"
)

// TestWhatTheControllingSideWritesTheTerminalReads: the two sides are one
// terminal, in canonical mode (a line arrives when it ends).
func TestWhatTheControllingSideWritesTheTerminalReads(t *testing.T) {
	ctl, tty := Open(t)
	if _, err := ctl.WriteString("typed\n"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	n, err := tty.Read(b)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if got := string(b[:n]); got != "typed\n" {
		t.Fatalf("the terminal read %q, want %q", got, "typed\n")
	}
}
