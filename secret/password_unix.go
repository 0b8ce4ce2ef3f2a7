//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package secret

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadPassword reads a line from the terminal fd with echo turned off,
// straight into protected memory, and returns it without the line ending.
// The terminal is restored before it returns. Each read(2) writes into
// the protected buffer itself; nothing passes through the Go heap.
func ReadPassword(fd int, opts ...Option) (Value, error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return Value{}, fmt.Errorf("secret: fd %d is not a terminal: %w", fd, err)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return Value{}, fmt.Errorf("secret: turning echo off: %w", err)
	}
	defer func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, old) }()
	return readLine(fd, opts)
}

// readLine reads up to a newline (or end of input) into a Vec and freezes
// it into a Value.
func readLine(fd int, opts []Option) (Value, error) {
	buf, err := NewVec[byte](64, opts...)
	if err != nil {
		return Value{}, err
	}
	h := buf.h
	for {
		if err := h.reserve(1, 1); err != nil {
			buf.Destroy()
			return Value{}, err
		}
		p, err := h.acquireWrite()
		if err != nil {
			buf.Destroy()
			return Value{}, err
		}
		room := unsafe.Slice((*byte)(unsafe.Add(p, h.n)), h.capacity-h.n)
		n, rerr := unix.Read(fd, room)
		if errors.Is(rerr, unix.EINTR) {
			h.releaseWrite()
			continue
		}
		done := rerr != nil || n <= 0
		for i := 0; i < n; i++ {
			if room[i] == '\n' {
				clear(room[i:n])
				n, done = i, true
				break
			}
		}
		if done && n > 0 && room[n-1] == '\r' {
			n--
			room[n] = 0
		}
		h.releaseWrite()
		if n > 0 {
			h.n += n
		}
		if rerr != nil {
			buf.Destroy()
			return Value{}, fmt.Errorf("secret: reading the password: %w", rerr)
		}
		if done {
			return buf.Freeze()
		}
	}
}
