package testchild

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Buffer collects output that a test reads while it is being written: a
// child's stdout or stderr (which os/exec copies from a goroutine of its
// own) or a logger's.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A Process is a started child whose exit a test can wait for without
// calling Wait itself: a goroutine waits, so that a test can select on
// Exited beside a timeout.
type Process struct {
	Cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago, for a
// child that must be told where to listen. Another process may take it
// in between: a caller retries with a new one when the child cannot
// bind it.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ErrExited is what Await reports when the child exits before it is ready.
var ErrExited = errors.New("exited")

// Start starts cmd. Its output goes where cmd says. A goroutine waits
// for the child at once, and os/exec closes the pipes of StdoutPipe and
// StderrPipe when it has exited: read a child that writes and then exits
// on its own through a Buffer or a file, not a pipe, or run it without
// Start.
func Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Launch starts cmd for t, fails t when it cannot, and kills the child
// when t ends.
func Launch(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// Exited is closed once the child has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the child's exit status (nil for exit status 0), once Exited is
// closed.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// Pid is the child's process ID.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Kill kills the child, as a crash would, and waits for its exit.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.exited
}

// Stop sends sig and waits for the exit; after grace it kills the child.
func (p *Process) Stop(sig os.Signal, grace time.Duration) {
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
}

// Await calls ready every interval until it reports true, and returns
// nil; it returns an error wrapping ErrExited, with the exit status, when
// the child exits first, and an error naming timeout when that passes
// first.
func (p *Process) Await(timeout, interval time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ready() {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %v", ErrExited, p.err)
		case <-time.After(interval):
		}
	}
	return fmt.Errorf("not ready within %v", timeout)
}
