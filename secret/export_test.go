package secret

import (
	"crypto/sha256"
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

// PrekeyForTest returns the process pre-key, creating it if needed.
func PrekeyForTest(t testing.TB) Value {
	t.Helper()
	v, _, err := currentPrekey()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// DropPrekeyForTest destroys the pre-key alone, leaving the cells sealed
// under it alive: the state a cell sealed while Purge ran is left in.
func DropPrekeyForTest() {
	prekey.mu.Lock()
	defer prekey.mu.Unlock()
	prekey.v.Destroy()
}

// FailSealsForTest makes every seal fail with err, after all its other
// fallible steps and before it writes a cell, until restore is called.
func FailSealsForTest(err error) (restore func()) {
	f := func() error { return err }
	sealHook.Store(&f)
	return func() { sealHook.Store(nil) }
}

// HMACForTest is the package's HMAC-SHA256 of msg under key.
func HMACForTest(key, msg []byte) [32]byte {
	buf := make([]byte, hmacBlock+len(msg))
	copy(buf[hmacBlock:], msg)
	var out [32]byte
	hmacSHA256(key, buf, &out)
	return out
}

// KeysForTest derives a seal's encryption and MAC keys.
func KeysForTest(master [32]byte, salt []byte) (enc, mac [32]byte) {
	var k sealKeys
	deriveKeys(&master, salt, &k)
	return k.enc, k.mac
}

// KeyStreamForTest returns n bytes of the key stream of kEnc and salt.
func KeyStreamForTest(kEnc [32]byte, salt []byte, n int) []byte {
	out := make([]byte, n)
	xorKeyStream(out, &kEnc, salt)
	return out
}

// SealForTest seals pt under a given pre-key and salt and returns the cell
// as a sealed cell holds it: salt, tag, ciphertext.
func SealForTest(pre, salt, pt []byte) []byte {
	master := sha256.Sum256(pre)
	w := make([]byte, workOff+len(pt))
	copy(w[hmacBlock:], salt)
	copy(w[workOff:], pt)
	var tag [tagSize]byte
	sealWork(&master, w, &tag)
	cell := make([]byte, sealOverhead+len(pt))
	copy(cell, salt)
	copy(cell[saltSize:], tag[:])
	copy(cell[sealOverhead:], w[workOff:])
	return cell
}

// OpenForTest opens a cell sealed under the given pre-key.
func OpenForTest(pre, cell []byte) ([]byte, error) {
	master := sha256.Sum256(pre)
	w := make([]byte, workOff+len(cell)-sealOverhead)
	copy(w[hmacBlock:], cell[:saltSize])
	copy(w[workOff:], cell[sealOverhead:])
	var tag [tagSize]byte
	copy(tag[:], cell[saltSize:sealOverhead])
	if err := openWork(&master, w, &tag); err != nil {
		return nil, err
	}
	return w[workOff:], nil
}

const PrekeySizeForTest, SealOverheadForTest = prekeySize, sealOverhead

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
