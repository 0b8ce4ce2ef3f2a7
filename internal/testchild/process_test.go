//go:build unix

package testchild

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sh launches a shell running script, with its output in the returned
// Buffer.
func sh(t *testing.T, script string) (*Process, *Buffer) {
	t.Helper()
	out := &Buffer{}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	return Launch(t, cmd), out
}

func TestAwaitReturnsOnceTheChildIsReady(t *testing.T) {
	p, out := sh(t, "echo ready; exec sleep 60")
	if err := p.Await(10*time.Second, time.Millisecond, func() bool { return strings.Contains(out.String(), "ready") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
		t.Fatal("the child is reported exited while it sleeps")
	default:
	}
	p.Stop(syscall.SIGTERM, 10*time.Second)
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("after Stop(SIGTERM) the exit status is %v, want death by SIGTERM", err)
	}
}

func TestAwaitReportsAnEarlyExitWithItsStatus(t *testing.T) {
	p, _ := sh(t, "exit 3")
	err := p.Await(10*time.Second, time.Millisecond, func() bool { return false })
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Await = %v, want ErrExited with exit status 3", err)
	}
}

func TestAwaitGivesUpAtItsTimeout(t *testing.T) {
	p, _ := sh(t, "exec sleep 60")
	err := p.Await(50*time.Millisecond, time.Millisecond, func() bool { return false })
	if err == nil || errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "50ms") {
		t.Fatalf("Await = %v, want a timeout of 50ms", err)
	}
}

func TestStopKillsAChildThatIgnoresTheSignal(t *testing.T) {
	p, out := sh(t, `trap "" TERM; echo trapped; while :; do sleep 1; done`)
	if err := p.Await(10*time.Second, time.Millisecond, func() bool { return strings.Contains(out.String(), "trapped") }); err != nil {
		t.Fatal(err)
	}
	p.Stop(syscall.SIGTERM, 100*time.Millisecond)
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exit status %v, want death by SIGKILL after the grace period", err)
	}
}

func TestBufferTakesConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("ab"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); len(got) != 8*100*2 || strings.Count(got, "ab") != 800 {
		t.Fatalf("%d bytes, %d whole writes; want 1600 bytes, 800 writes", len(got), strings.Count(got, "ab"))
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d: %v", port, err)
	}
	ln.Close()
}
