package vault

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
)

func zero(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }

func TestWriteClearsWhatItSent(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &wipingConn{Conn: a}
	defer c.Close()
	got := make(chan []byte)
	go func() { buf, _ := io.ReadAll(io.LimitReader(b, 11)); got <- buf }()
	p := []byte("X-Token: s3")
	if n, err := c.Write(p); err != nil || n != len(p) {
		t.Fatal(n, err)
	}
	if string(<-got) != "X-Token: s3" {
		t.Error("the peer did not get the bytes")
	}
	if !zero(p) {
		t.Error("the bytes sent are still in the buffer")
	}
}

// The read buffer is the first Read's, the size net/http's is: stale
// bytes in it are cleared before each refill and at Close. Other memory
// (a body read straight into the caller's buffer) is left alone.
func TestReadClearsItsBuffer(t *testing.T) {
	a, b := net.Pipe()
	c := &wipingConn{Conn: a}
	go func() {
		_, _ = b.Write([]byte("HTTP/1.1 200 OK\r\n"))
		_, _ = b.Write([]byte("secret-body"))
		_, _ = b.Write([]byte("more"))
	}()
	buf := make([]byte, connBuffer)
	for i := range buf {
		buf[i] = 0xee // stale bytes of an earlier response
	}
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "HTTP/1.1 200 OK\r\n" {
		t.Fatal(n, err)
	}
	if !zero(buf[n:]) {
		t.Error("the stale part of the buffer was not cleared")
	}
	// The rest of the buffer is refilled: what was consumed before the
	// refill point is not touched, what comes after is cleared.
	copy(buf[n:], "stale")
	m, err := c.Read(buf[n:])
	if err != nil || string(buf[n:n+m]) != "secret-body" {
		t.Fatal(m, err)
	}
	// A caller's own memory is read into untouched.
	own := []byte("keep----------------")
	if k, err := c.Read(own); err != nil || string(own[:k]) != "more" || string(own[k:]) != "----------------" {
		t.Fatalf("%q %v", own, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !zero(buf) {
		t.Error("Close left bytes in the read buffer")
	}
	if _, err := c.Read(buf); err == nil {
		t.Error("a Read after Close succeeded")
	}
	b.Close()
}

// A Close from another goroutine while a Read waits (net/http closing
// an idle connection): the waiting Read clears the buffer as it returns,
// in the goroutine that owns it.
func TestCloseDuringARead(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &wipingConn{Conn: a}
	go func() { _, _ = b.Write([]byte("secret")) }()
	buf := make([]byte, connBuffer)
	if n, err := c.Read(buf); err != nil || n != 6 {
		t.Fatal(n, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Read(buf[6:]); err == nil {
			t.Error("the Read succeeded on a closed connection")
		}
	}()
	for {
		c.mu.Lock()
		waiting := c.reading
		c.mu.Unlock()
		if waiting {
			break
		}
		runtime.Gosched()
	}
	_ = c.Close()
	<-done
	if !zero(buf) {
		t.Error("the buffer holds bytes after Close")
	}
}

// Pins the two crypto/tls fields tlsbuf.go clears. A Go release that
// renames or retypes them fails here, loudly, instead of silently leaving
// the last record of each TLS connection in memory.
func TestTLSInternalsAreWhereExpected(t *testing.T) {
	if _, _, ok := tlsFields(); !ok {
		t.Fatal("crypto/tls.Conn no longer has rawInput bytes.Buffer and input bytes.Reader: update tlsbuf.go")
	}
}
