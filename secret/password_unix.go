//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package secret

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/internal/term"
)

// ReadPassword reads a line from the terminal fd with echo turned off,
// straight into protected memory, and returns it without the line ending.
// The terminal is restored before it returns. Each read(2) writes into
// the protected buffer itself; nothing passes through the Go heap.
//
// Options are those of New. With Sealed the line is read into a plain
// protected buffer, sealed into a new cell, and the buffer is wiped.
func ReadPassword(fd int, opts ...Option) (Value, error) {
	o, err := collect(opts)
	if err != nil {
		return Value{}, err
	}
	lineOpts := opts
	if o.sealed {
		// The line buffer only needs the placement; lifetime, label and
		// sealing are for the cell it is sealed into.
		lineOpts = nil
		if o.guarded {
			lineOpts = append(lineOpts, Guarded())
		}
		if o.allowUnlocked {
			lineOpts = append(lineOpts, AllowUnlocked())
		}
	}
	restore, err := term.NoEcho(fd)
	if err != nil {
		return Value{}, fmt.Errorf("secret: %w", err)
	}
	defer func() { _ = restore() }()
	buf, err := readLine(fd, lineOpts)
	if err != nil {
		return Value{}, err
	}
	if o.sealed {
		// Sealed into a new cell made with opts; buf is destroyed.
		return valueFromVec(buf, opts)
	}
	return buf.Freeze()
}

// readLine reads up to a newline (or end of input) into a Vec.
func readLine(fd int, opts []Option) (Vec[byte], error) {
	buf, err := NewVec[byte](64, opts...)
	if err != nil {
		return Vec[byte]{}, err
	}
	h := buf.h
	for {
		if err := h.reserve(1, 1); err != nil {
			buf.Destroy()
			return Vec[byte]{}, err
		}
		p, err := h.acquireWrite()
		if err != nil {
			buf.Destroy()
			return Vec[byte]{}, err
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
			return Vec[byte]{}, fmt.Errorf("secret: reading the password: %w", rerr)
		}
		if done {
			return buf, nil
		}
	}
}
