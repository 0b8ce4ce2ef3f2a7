package secret

import (
	"crypto/sha256"
	"testing"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/keyed"
)

// flipCiphertextBitForTest flips one bit of a sealed cell's ciphertext, as
// a Rowhammer flip or a stray write would.
func FlipCiphertextBitForTest(t testing.TB, v Value) {
	t.Helper()
	p, err := v.h.acquireWrite()
	if err != nil {
		t.Fatal(err)
	}
	defer v.h.releaseWrite()
	raw := unsafe.Slice((*byte)(p), v.h.n+sealOverhead)
	raw[sealOverhead] ^= 0x10
}

// ExpireForTest moves v's TTL deadline into the past and stops the timer
// that would wipe it, as a timer that has not run yet would be: only the
// clock check in each call can then end the cell.
func ExpireForTest(v Value) {
	if v.h.timer != nil {
		v.h.timer.Stop()
	}
	v.h.expires = time.Now().Add(-time.Second)
}

// BoxValueForTest returns the Value view of a Box, for the hooks above
// and below.
func BoxValueForTest[T any](b Box[T]) Value { return b.value() }

// SealedCellForTest returns a copy of a sealed cell as it lies in memory:
// salt, tag, ciphertext.
func SealedCellForTest(t testing.TB, v Value) []byte {
	t.Helper()
	if !v.h.sealed {
		t.Fatal("not a sealed cell")
	}
	p, err := v.h.acquire(false)
	if err != nil {
		t.Fatal(err)
	}
	defer v.h.release(false)
	return append([]byte(nil), unsafe.Slice((*byte)(p), v.h.n+sealOverhead)...)
}

// WriteSealedCellForTest overwrites a sealed cell with raw bytes, as an
// attacker with write access to protected memory would: another cell's
// contents, or this cell's own older ones.
func WriteSealedCellForTest(t testing.TB, v Value, raw []byte) {
	t.Helper()
	if !v.h.sealed || len(raw) != v.h.n+sealOverhead {
		t.Fatal("not a sealed cell of that size")
	}
	p, err := v.h.acquireWrite()
	if err != nil {
		t.Fatal(err)
	}
	defer v.h.releaseWrite()
	copy(unsafe.Slice((*byte)(p), len(raw)), raw)
}

// PrekeyForTest returns the pre-key a sealed cell was sealed under (the
// zero Value for any other cell).
func PrekeyForTest(v Value) Value {
	if v.h == nil || v.h.seal == nil {
		return Value{}
	}
	return v.h.seal.pk.v
}

// CellIdentityForTest returns the associated data a sealed cell's tag
// binds: its id and how many times it was resealed.
func CellIdentityForTest(v Value) (id, count uint64) {
	return v.h.seal.id, v.h.seal.count.Load()
}

// DropPrekeyForTest destroys a cell's pre-key alone, leaving the cells
// sealed under it alive: the state a cell sealed while Purge ran is left
// in.
func DropPrekeyForTest(v Value) { v.h.seal.pk.v.Destroy() }

// FailSealsForTest makes every seal fail with err, after all its other
// fallible steps and before it writes a cell, until restore is called.
func FailSealsForTest(err error) (restore func()) {
	f := func() error { return err }
	sealHook.Store(&f)
	return func() { sealHook.Store(nil) }
}

// SealForTest seals pt as the count-th seal of cell id under a given
// pre-key and nonce, and returns the cell as a sealed cell holds it:
// nonce, tag, ciphertext.
func SealForTest(pre, nonce []byte, id, count uint64, pt []byte) []byte {
	w := make([]byte, workOff+len(pt))
	wk := work{b: w}
	hd := wk.header()
	copy(hd.nonce[:], nonce)
	copy(wk.data(), pt)
	s := &sealing{id: id}
	s.ad(count, &hd.ad)
	key := sha256.Sum256(pre)
	keyed.Seal(&key, &hd.nonce, hd.ad[:], wk.data(), &hd.tag)
	cell := make([]byte, sealOverhead+len(pt))
	wk.store(cell, len(pt))
	return cell
}

// OpenForTest opens a cell sealed as the count-th seal of cell id under
// the given pre-key.
func OpenForTest(pre, cell []byte, id, count uint64) ([]byte, error) {
	wk := work{b: make([]byte, workOff+len(cell)-sealOverhead)}
	hd := wk.header()
	copy(hd.nonce[:], cell[:nonceSize])
	copy(hd.tag[:], cell[nonceSize:sealOverhead])
	copy(wk.data(), cell[sealOverhead:])
	s := &sealing{id: id}
	s.ad(count, &hd.ad)
	key := sha256.Sum256(pre)
	if !keyed.Open(&key, &hd.nonce, hd.ad[:], wk.data(), &hd.tag) {
		return nil, errTag
	}
	return wk.data(), nil
}

const (
	PrekeySizeForTest     = prekeySize
	SealOverheadForTest   = sealOverhead
	CellsPerPrekeyForTest = cellsPerPrekey
)

// VecRegionForTest returns a copy of a Vec's whole region, capacity and
// all, so a test can see what lies beyond its length.
func VecRegionForTest[T any](t testing.TB, v Vec[T]) []byte {
	t.Helper()
	h := v.h
	p, err := h.ref.Acquire() // not h.acquire, which knows no region when Len is 0
	if err != nil {
		t.Fatal(err)
	}
	defer h.ref.Release()
	return append([]byte(nil), unsafe.Slice((*byte)(p), h.capacity*h.size)...)
}
