package secret

import (
	"testing"
	"unsafe"
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
