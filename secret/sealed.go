package secret

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/secretmem/secretmem/internal/arena"
	"github.com/secretmem/secretmem/internal/keyed"
)

// Sealed cells: the construction.
//
// A sealed cell holds [nonce 24][tag 16][ciphertext n]:
//
//	key         = SHA-256(pre-key)                 16 KiB: an attacker needs every bit
//	nonce       = 24 random bytes, fresh for every seal
//	ad          = uint64be(cell id) || uint64be(seal count)
//	ct, tag     = XChaCha20-Poly1305(key, nonce, ad, pt)
//
// The associated data binds the ciphertext to its cell and its version:
// the id is unique in the process and never reused, the count is how
// many times Update resealed the cell. Both live in the handle, on the Go
// heap, not beside the ciphertext. So another cell's nonce, tag and
// ciphertext copied over this one (of any type: a sealed Box[[32]byte]
// fed a 32-byte Value's bytes), or this cell's own older contents written
// back after an Update, fail the tag like a flipped bit does: the read
// returns ErrCorrupted and decrypts nothing.
//
// Why XChaCha20-Poly1305, and why from x/crypto's building blocks: see
// internal/keyed. The pre-keys: see sealed_prekey.go. The numbers: the
// package documentation.
const (
	nonceSize    = keyed.NonceSize
	tagSize      = keyed.TagSize
	sealOverhead = nonceSize + tagSize
	adSize       = 16
)

// sealing is what a sealed cell's handle keeps beside the cell: the
// pre-key it was sealed under and the associated data its tag binds.
type sealing struct {
	pk    *prekey
	id    uint64
	count atomic.Uint64 // seals of the cell so far, minus one
	ended atomic.Bool   // the cell ended and let go of its pre-key
}

// sealIDs numbers sealed cells. 2^64 seals would take centuries.
var sealIDs atomic.Uint64

// end lets go of the pre-key once the cell's memory is gone. Callers call
// it where they destroyed the cell; it runs once however many do.
func (s *sealing) end() {
	if s != nil && s.ended.CompareAndSwap(false, true) {
		s.pk.release()
	}
}

func (s *sealing) ad(count uint64, ad *[adSize]byte) {
	binary.BigEndian.PutUint64(ad[:8], s.id)
	binary.BigEndian.PutUint64(ad[8:], count)
}

// workHeader starts a work cell: everything a seal or an open computes
// with, in protected memory. The data follows it.
type workHeader struct {
	key   [keyed.KeySize]byte // SHA-256(pre-key), only while a seal or open runs
	nonce [nonceSize]byte
	tag   [tagSize]byte
	ad    [adSize]byte
	_     [8]byte // keeps the data 16-byte aligned
}

const workOff = int(unsafe.Sizeof(workHeader{}))

// A work cell is a protected scratch cell laid out for sealing: plaintext
// exists only in one, for the length of a fill, Use or Update, and it is
// wiped when closed.
type work struct {
	ref arena.Ref
	b   []byte // [header][data]
}

func newWork(n int) (work, error) {
	ref, _, err := arena.Alloc(workOff+n, arena.Options{}, func(dst []byte) (int, error) {
		return len(dst), nil
	})
	if err != nil {
		return work{}, err
	}
	p, err := ref.AcquireWrite()
	if err != nil {
		// Purged between the two calls, most likely.
		ref.Destroy()
		return work{}, arenaErr(err)
	}
	return work{ref: ref, b: unsafe.Slice((*byte)(p), workOff+n)}, nil
}

func (w work) header() *workHeader { return (*workHeader)(unsafe.Pointer(&w.b[0])) }

func (w work) data() []byte { return w.b[workOff:] }

func (w work) close() {
	w.ref.ReleaseWrite()
	w.ref.Destroy()
}

// errStale: the pre-key a cell was sealed under is gone (Purge destroyed
// it while the cell was being sealed, so the cell escaped Purge). The cell
// can never be opened again; callers end it and report ErrDestroyed.
var errStale = errors.New("secret: the cell's pre-key is gone")

// withPrekey calls f with the pre-key's bytes. A pre-key Purge destroyed
// reports errStale.
func (pk *prekey) withPrekey(f func(pre []byte)) error {
	err := pk.v.Use(func(pre []byte) error {
		f(pre)
		return nil
	})
	switch {
	case errors.Is(err, ErrDestroyed):
		return errStale
	case err != nil:
		return err
	}
	return nil
}

// sealHook, when set by a test, fails a seal after every other fallible
// step succeeded and before the cell is written.
var sealHook atomic.Pointer[func() error]

// seal encrypts the first n data bytes of w in place under a fresh nonce,
// as the count-th seal of the cell. It changes nothing but w, so a failure
// leaves every cell as it was.
func (w work) seal(s *sealing, count uint64, n int) error {
	hd := w.header()
	if _, err := rand.Read(hd.nonce[:]); err != nil {
		return err
	}
	if f := sealHook.Load(); f != nil {
		if err := (*f)(); err != nil {
			return err
		}
	}
	s.ad(count, &hd.ad)
	return s.pk.withPrekey(func(pre []byte) {
		keyed.SealDerived(pre, &hd.key, &hd.nonce, hd.ad[:], w.data()[:n], &hd.tag)
	})
}

// store writes the sealed contents of w (n data bytes) into a cell.
func (w work) store(cell []byte, n int) {
	hd := w.header()
	copy(cell[:nonceSize], hd.nonce[:])
	copy(cell[nonceSize:sealOverhead], hd.tag[:])
	copy(cell[sealOverhead:], w.data()[:n])
}

// allocSealed creates a sealed cell for n bytes of plaintext written by
// fill. The plaintext is written and sealed in a work cell; the cell is
// allocated and written only after everything that can fail succeeded,
// and the work cell is wiped on every path.
func allocSealed(n int, ao arena.Options, trim bool, fill func([]byte) (int, error)) (arena.Ref, int, *sealing, error) {
	w, err := newWork(n)
	if err != nil {
		return arena.Ref{}, 0, nil, err
	}
	defer w.close()
	used, err := fill(w.data())
	if err != nil {
		return arena.Ref{}, 0, nil, err
	}
	if trim {
		used = trimNewline(w.data(), used)
	}
	var s *sealing
	// A second try covers a pre-key that Purge destroyed under the first.
	for range 2 {
		pk, err := takePrekey()
		if err != nil {
			return arena.Ref{}, 0, nil, err
		}
		s = &sealing{pk: pk, id: sealIDs.Add(1)}
		if err = w.seal(s, 0, used); err == nil {
			break
		}
		s.end()
		if !errors.Is(err, errStale) {
			return arena.Ref{}, 0, nil, err
		}
		s = nil
	}
	if s == nil {
		return arena.Ref{}, 0, nil, ErrDestroyed
	}
	ref, _, err := arena.Alloc(sealOverhead+used, ao, func(cell []byte) (int, error) {
		w.store(cell, used)
		return len(cell), nil
	})
	if err != nil {
		s.end()
		return arena.Ref{}, 0, nil, err
	}
	return ref, used, s, nil
}

// open copies the sealed cell into a new work cell and decrypts it there,
// as the cell's latest seal.
func (h *handle) open(cell []byte) (work, error) {
	s := h.seal
	if !s.pk.v.Alive() {
		return work{}, errStale
	}
	w, err := newWork(h.n)
	if err != nil {
		return work{}, err
	}
	hd := w.header()
	copy(hd.nonce[:], cell[:nonceSize])
	copy(hd.tag[:], cell[nonceSize:sealOverhead])
	copy(w.data(), cell[sealOverhead:])
	s.ad(s.count.Load(), &hd.ad)
	ok := false
	err = s.pk.withPrekey(func(pre []byte) {
		ok = keyed.OpenDerived(pre, &hd.key, &hd.nonce, hd.ad[:], w.data(), &hd.tag)
	})
	if err == nil && !ok {
		err = errTag
	}
	if err != nil {
		w.close()
		return work{}, err
	}
	return w, nil
}

// useSealed decrypts the cell into a work cell, calls fn with it, and
// wipes the work cell.
func (h *handle) useSealed(consume bool, fn func([]byte) error) error {
	p, err := h.acquire(consume)
	if err != nil {
		return err
	}
	if h.n == 0 {
		h.release(consume)
		return run(fn, nil)
	}
	w, err := h.open(unsafe.Slice((*byte)(p), h.n+sealOverhead))
	h.release(consume)
	if errors.Is(err, errStale) {
		return h.endStale()
	}
	if err != nil {
		return err
	}
	defer w.close()
	return run(fn, w.data())
}

// endStale ends a cell sealed under a pre-key Purge has since destroyed:
// Purge ends every sealed cell with its pre-key, but a cell still being
// sealed while Purge ran survives it. Such a cell can never be opened
// again, so it reads as destroyed (and is), not as corrupted. Callers end
// it after giving up their own access, as every other end of a cell does.
func (h *handle) endStale() error {
	h.end(endedDestroyed)
	return ErrDestroyed
}

// updateSealed decrypts into a work cell, lets fn change the plaintext,
// and seals the result back as the cell's next seal, under a fresh nonce.
// Every step that can fail happens before the cell is written, so a
// failure leaves the old sealed contents intact; the plaintext is only
// ever in the work cell, which is wiped on every path.
func (h *handle) updateSealed(fn func([]byte) error) error {
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	stale := false
	defer func() {
		if stale { // runs after releaseWrite below
			h.endStale()
		}
	}()
	defer h.releaseWrite()
	cell := unsafe.Slice((*byte)(p), h.n+sealOverhead)
	w, err := h.open(cell)
	if stale = errors.Is(err, errStale); stale {
		return ErrDestroyed
	}
	if err != nil {
		return err
	}
	defer w.close()
	ferr := run(fn, w.data())
	next := h.seal.count.Load() + 1
	if err := w.seal(h.seal, next, h.n); err != nil {
		if stale = errors.Is(err, errStale); stale {
			return ErrDestroyed
		}
		return err
	}
	w.store(cell, h.n)
	h.seal.count.Store(next)
	return ferr
}

// wipeArray zeroes n bytes at p. It is not inlined, so the compiler cannot
// drop the stores as dead even when p is a stack variable nobody reads
// again.
//
//go:noinline
func wipeArray(p unsafe.Pointer, n int) {
	clear(unsafe.Slice((*byte)(p), n))
}
