package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"runtime"
	"time"
	"unsafe"
)

// Value is a secret held in protected memory. The zero Value behaves as a
// destroyed cell. Values are small and may be copied; every copy refers to
// the same cell, and destroying one destroys it for all.
//
// A Value holds only a pointer to an unexported handle, and the handle
// holds addresses, never a []byte: printers that walk unexported fields by
// reflection find nothing to print.
type Value struct{ h *handle }

// New copies b into a new cell and wipes b. On error b is left as it was, so
// the caller can retry or wipe it.
func New(b []byte, opts ...Option) (Value, error) {
	return create(len(b), opts, func(dst []byte) (int, error) {
		return copy(dst, b), nil
	}, func() { Wipe(b) })
}

// FromString copies s into a new cell. Go strings cannot be wiped, so the
// plaintext in s stays where it is: prefer New, Read or ReadFile when the
// secret is not already a string.
func FromString(s string, opts ...Option) (Value, error) {
	return create(len(s), opts, func(dst []byte) (int, error) {
		return copy(dst, s), nil
	}, nil)
}

// Read reads exactly n bytes from r straight into a new cell; the reader's
// Read writes into protected memory, so no heap copy is made by this
// package. With TrimNewline, a trailing newline is dropped inside the cell.
func Read(r io.Reader, n int, opts ...Option) (Value, error) {
	if n < 0 || n > MaxSize {
		return Value{}, fmt.Errorf("%w: cannot read %d bytes (the limit is %d)", ErrSize, n, MaxSize)
	}
	return create(n, opts, func(dst []byte) (int, error) {
		if _, err := io.ReadFull(r, dst); err != nil {
			return 0, fmt.Errorf("secret: reading %d bytes: %w", n, err)
		}
		return len(dst), nil
	}, nil)
}

// ReadFile reads a regular file straight into a new cell: read(2) writes
// into protected memory, so the bytes never touch the Go heap. Files over
// MaxSize are refused; files that report no size (procfs) are read up to
// 64 KiB. Symbolic links are followed. Anything but a regular file (a
// named pipe, a device, a socket, a directory) is refused at once with
// ErrNotRegular and never read: opening a pipe nobody writes to would
// block for ever. Read pipes and standard input deliberately with ReadAll.
// With TrimNewline, a trailing newline is dropped inside the cell.
func ReadFile(path string, opts ...Option) (Value, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return Value{}, fmt.Errorf("secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Value{}, fmt.Errorf("secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Value{}, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	size := fi.Size()
	if size == 0 {
		// procfs files report no size.
		return readUnsized(f, path, opts)
	}
	if size > MaxSize {
		return Value{}, fmt.Errorf("%w: %s holds %d bytes (the limit is %d)", ErrSize, path, size, MaxSize)
	}
	return create(int(size), opts, func(dst []byte) (int, error) {
		n, err := io.ReadFull(f, dst)
		if err != nil {
			return 0, fmt.Errorf("secret: reading %s: %w", path, err)
		}
		if moreToRead(f) {
			return 0, fmt.Errorf("secret: %s grew while it was read", path)
		}
		return n, nil
	}, nil)
}

// moreToRead reports whether f has another byte to give.
func moreToRead(f io.Reader) bool {
	var one [1]byte
	m, _ := f.Read(one[:])
	one[0] = 0
	return m > 0
}

// Bounds for a file that reports no size: the first scratch capacity, and
// the most ReadFile takes from it.
const (
	firstUnsized = 512
	maxUnsized   = 64 << 10
)

// readUnsized reads what reports no size into a cell. The bytes go
// into a scratch Vec that starts small and doubles while it fills up, each
// growth copied from protected memory to protected memory, and finally into
// a cell of the options' kind. A short secret through a pipe so costs a
// pooled slot, not a 64 KiB run a small memory-lock limit would refuse.
func readUnsized(f io.Reader, path string, opts []Option) (Value, error) {
	o, err := collect(opts)
	if err != nil {
		return Value{}, err
	}
	var scratchOpts []Option
	if o.allowUnlocked {
		scratchOpts = append(scratchOpts, AllowUnlocked())
	}
	buf, err := NewVec[byte](firstUnsized, scratchOpts...)
	if err != nil {
		return Value{}, err
	}
	defer buf.Destroy()
	h := buf.h
	for {
		if h.n == maxUnsized {
			if moreToRead(f) {
				return Value{}, fmt.Errorf("%w: %s holds more than %d bytes", ErrSize, path, maxUnsized)
			}
			break
		}
		if err := h.reserve(1, 1); err != nil {
			return Value{}, err
		}
		p, err := h.acquireWrite()
		if err != nil {
			return Value{}, err
		}
		room := unsafe.Slice((*byte)(unsafe.Add(p, h.n)), min(h.capacity, maxUnsized)-h.n)
		m, err := io.ReadFull(f, room)
		h.releaseWrite()
		h.n += m
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return Value{}, fmt.Errorf("secret: reading %s: %w", path, err)
		}
	}
	return valueFromVec(buf, opts)
}

// valueFromVec copies the bytes in buf into a new cell made with opts, from
// one protected region to the other, and destroys buf.
func valueFromVec(buf Vec[byte], opts []Option) (Value, error) {
	defer buf.Destroy()
	h := buf.h
	p, err := h.acquire(false)
	if err != nil {
		return Value{}, err
	}
	defer h.release(false)
	src := unsafe.Slice((*byte)(p), h.n)
	return create(len(src), opts, func(dst []byte) (int, error) {
		return copy(dst, src), nil
	}, nil)
}

// Random creates a cell of n bytes from crypto/rand, written straight into
// protected memory.
func Random(n int, opts ...Option) (Value, error) {
	if n < 0 || n > MaxSize {
		return Value{}, fmt.Errorf("%w: %d random bytes (the limit is %d)", ErrSize, n, MaxSize)
	}
	return create(n, opts, func(dst []byte) (int, error) {
		_, err := rand.Read(dst)
		return len(dst), err
	}, nil)
}

// create allocates a cell of n bytes, lets fill write it, applies the
// options, and calls done (if any) once the cell exists.
func create(n int, opts []Option, fill func([]byte) (int, error), done func()) (Value, error) {
	o, err := collect(opts)
	if err != nil {
		return Value{}, err
	}
	h := &handle{}
	if err := h.init(n, o, 0, fill); err != nil {
		return Value{}, err
	}
	if done != nil {
		done()
	}
	return Value{h: h}, nil
}

// trimNewline drops one trailing "\n" or "\r\n" from b[:n] and wipes it.
func trimNewline(b []byte, n int) int {
	if n > 0 && b[n-1] == '\n' {
		n--
		b[n] = 0
		if n > 0 && b[n-1] == '\r' {
			n--
			b[n] = 0
		}
	}
	return n
}

// Use calls fn with the secret. The slice is valid only inside fn and must
// not be modified or kept; copy out of it only into memory you wipe. A
// volatile cell is consumed by the first Use, whatever fn returns. Use
// returns fn's error, or why the cell cannot be read (ErrDestroyed,
// ErrExpired, ErrConsumed, ErrCorrupted).
func (v Value) Use(fn func([]byte) error) error {
	if v.h == nil {
		return ErrDestroyed
	}
	return v.h.view(true, fn)
}

// view is Use with a choice: consume says whether a volatile cell is
// consumed (Equal, EqualValue and Masked read without consuming).
func (h *handle) view(consume bool, fn func([]byte) error) error {
	if h.sealed {
		return h.useSealed(consume, fn)
	}
	p, err := h.acquire(consume)
	if err != nil {
		return err
	}
	defer h.release(consume)
	return run(fn, unsafe.Slice((*byte)(p), h.n))
}

// Reveal returns a copy of the secret on the Go heap. It is the escape hatch
// for APIs that insist on owning a []byte: the copy is outside this
// package's protection, and the caller must Wipe it when done. A volatile
// cell is consumed.
func (v Value) Reveal() ([]byte, error) {
	var out []byte
	err := v.Use(func(b []byte) error {
		out = make([]byte, len(b))
		copy(out, b)
		return nil
	})
	return out, err
}

// Equal reports, in constant time for a given length, whether the secret
// equals b. It does not consume a volatile cell. A cell that cannot be read
// equals nothing.
func (v Value) Equal(b []byte) bool {
	if v.h == nil {
		return false
	}
	eq := false
	_ = v.h.view(false, func(s []byte) error {
		eq = subtle.ConstantTimeCompare(s, b) == 1
		return nil
	})
	return eq
}

// EqualValue reports, in constant time for a given length, whether two
// cells hold the same secret. Neither volatile cell is consumed.
func (v Value) EqualValue(o Value) bool {
	if v.h == nil || o.h == nil {
		return false
	}
	eq := false
	_ = o.h.view(false, func(b []byte) error {
		eq = v.Equal(b)
		return nil
	})
	return eq
}

// Masked returns the secret with all but its last suffix bytes replaced by
// '*', as in "********1234". At most a third of the secret is ever shown,
// the stars stop at 32, and a suffix that is not printable ASCII is starred
// too. It does not consume a volatile cell; a cell that cannot be read
// masks to its redacted form.
func (v Value) Masked(suffix int) string {
	if v.h == nil {
		return v.redacted()
	}
	var out []byte
	err := v.h.view(false, func(b []byte) error {
		show := min(max(suffix, 0), len(b)/3)
		tail := b[len(b)-show:]
		for _, c := range tail {
			if c < 0x20 || c > 0x7e {
				show, tail = 0, nil
				break
			}
		}
		stars := min(len(b)-show, 32)
		out = make([]byte, stars+show)
		for i := range stars {
			out[i] = '*'
		}
		copy(out[stars:], tail)
		return nil
	})
	if err != nil {
		return v.redacted()
	}
	return string(out)
}

// Len returns the secret's length in bytes, or 0 once the cell ended.
func (v Value) Len() int {
	if !v.Alive() {
		return 0
	}
	return v.h.n
}

// Alive reports whether the cell can still be read.
func (v Value) Alive() bool {
	h := v.h
	if h == nil || h.state.Load() != alive {
		return false
	}
	if !h.expires.IsZero() && !time.Now().Before(h.expires) {
		return false
	}
	return h.n == 0 || h.ref.Alive()
}

// Destroy wipes the cell and frees its memory. It is idempotent, safe on the
// zero Value, and safe to call concurrently with readers: a Use in flight
// finishes on intact bytes and the wipe happens as it returns.
func (v Value) Destroy() {
	if v.h != nil {
		v.h.end(endedDestroyed)
	}
}

// Wipe overwrites b with zeros. Use it on copies made with Reveal and on
// buffers that held a secret before it went into a cell.
func Wipe(b []byte) {
	clear(b)
	// Keep the stores: b must look used after the clear.
	runtime.KeepAlive(b)
}
