package vault

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/secretmem/secretmem/internal/memory"
)

// regions hands out the protected memory that request and response
// bodies live in: locked, out of core dumps (memfd_secret where the kernel
// has it), wiped whenever it is handed back. A few are kept for reuse, so
// a steady stream of requests makes no system call for memory.
type regions struct {
	allowUnlocked bool

	mu     sync.Mutex
	free   []*memory.Region
	kept   int // bytes in free
	closed bool
	leaked int // regions given up on (see flight)
}

// keepBytes bounds the memory kept for reuse.
const keepBytes = 256 << 10

// get returns a wiped region of at least n bytes.
func (p *regions) get(n int) (*memory.Region, error) {
	p.mu.Lock()
	best := -1
	for i, r := range p.free {
		if r.Size() >= n && (best < 0 || r.Size() < p.free[best].Size()) {
			best = i
		}
	}
	if best >= 0 {
		r := p.free[best]
		p.free = append(p.free[:best], p.free[best+1:]...)
		p.kept -= r.Size()
		p.mu.Unlock()
		return r, nil
	}
	p.mu.Unlock()
	size := memory.PageSize()
	for size < n {
		size *= 2
	}
	r, err := memory.Map(size, memory.MustLock)
	if errors.Is(err, memory.ErrLockLimit) && p.allowUnlocked {
		r, err = memory.Map(size, memory.NoLock)
	}
	if err != nil {
		return nil, fmt.Errorf("protected memory for a Vault message: %w", err)
	}
	return r, nil
}

// put wipes r and keeps it for reuse, or unmaps it.
func (p *regions) put(r *memory.Region) {
	clear(r.Bytes())
	p.mu.Lock()
	if !p.closed && p.kept+r.Size() <= keepBytes {
		p.free = append(p.free, r)
		p.kept += r.Size()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = r.Unmap()
}

// abandon wipes r and never maps it again nor unmaps it: net/http may
// still read it (see flight), and a read of wiped memory sends zeros
// where an unmapped page would crash the process.
func (p *regions) abandon(r *memory.Region) {
	clear(r.Bytes())
	p.mu.Lock()
	p.leaked++
	p.mu.Unlock()
}

// close unmaps the regions kept for reuse; later puts unmap at once.
func (p *regions) close() {
	p.mu.Lock()
	free := p.free
	p.free, p.kept, p.closed = nil, 0, true
	p.mu.Unlock()
	for _, r := range free {
		_ = r.Unmap()
	}
}

// A body is a response body read into protected memory, growing from
// region to region (each growth copies from protected memory to protected
// memory and wipes the old region) up to a limit.
type body struct {
	p *regions
	r *memory.Region
	n int
}

// firstBody is the first region a body of unknown length gets.
const firstBody = 8 << 10

// readBody reads all of rd into protected memory. length is the declared
// Content-Length, or -1. Over limit bytes fail with ErrTooLarge, before
// reading when the length is declared.
func (p *regions) readBody(rd io.Reader, length int64, limit int) (*body, error) {
	if length > int64(limit) {
		return nil, fmt.Errorf("%w: %d bytes declared, the limit is %d", ErrTooLarge, length, limit)
	}
	size := firstBody
	if length >= 0 {
		size = int(length) + 1 // room to see the end without a growth
	}
	r, err := p.get(min(size, limit+1))
	if err != nil {
		return nil, err
	}
	b := &body{p: p, r: r}
	for {
		room := b.r.Bytes()
		if b.n == len(room) {
			if len(room) > limit {
				b.release()
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			if err := b.grow(min(2*len(room), limit+1)); err != nil {
				b.release()
				return nil, err
			}
			room = b.r.Bytes()
		}
		m, err := rd.Read(room[b.n:min(len(room), limit+1)])
		scrubRegisters() // the copy out of net/http's read buffer
		b.n += m
		if b.n > limit {
			b.release()
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			b.release()
			return nil, err
		}
	}
}

func (b *body) grow(n int) error {
	r, err := b.p.get(n)
	if err != nil {
		return err
	}
	copy(r.Bytes(), b.r.Bytes()[:b.n])
	scrubRegisters()
	b.p.put(b.r)
	b.r = r
	return nil
}

// bytes returns the body; valid until release.
func (b *body) bytes() []byte { return b.r.Bytes()[:b.n] }

// release wipes the body and hands its memory back.
func (b *body) release() {
	if b != nil && b.r != nil {
		b.p.put(b.r)
		b.r, b.n = nil, 0
	}
}
