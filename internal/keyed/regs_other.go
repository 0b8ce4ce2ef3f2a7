//go:build !amd64 && !arm64

package keyed

import "unsafe"

// archDepth is how much deeper the calls go here than on amd64, for whose
// frames erase.go's depths were measured (arm64 adds 128). Without their
// assembly SHA-512 is generic Go, which keeps its 80-word message schedule
// on the stack: measured with go1.26 under qemu-user (or natively for
// 386), Key.Set over a long key uses 1,615 bytes on 386 and 1,587 on arm,
// an HMAC check 1,383 on mips64le and 1,255 on 386, and ppc64le's and
// s390x's assembly hashes still go 100 to 150 bytes deeper than
// amd64's. 768 more covers the deepest with about 280 bytes to spare; a
// generic SHA-512 block costs far more than wiping them.
const archDepth = 768

// archDeepDepth is how much deeper EraseDeep wipes here than on amd64:
// without assembly, ECDSA P-256 signing goes 8,419 bytes deep on 386
// (amd64: 6.1 KiB), past the 7,936 that 8 KiB covers.
const archDeepDepth = 1024

// slowHashDepth is 0: archDepth was measured with the generic hashes.
const slowHashDepth = 0

// fastHashCPU: archDepth covers the hash code here as it is.
func fastHashCPU() bool { return true }

// growStack makes sure the goroutine's stack has wipeDepth+growHeadroom
// free bytes below the caller's frame, growing (copying) it now if not,
// before any key material is on it. Without assembly the frame is zeroed
// as well, which costs as much as a wipe.
//
//go:noinline
func growStack() {
	var b [wipeDepth + growHeadroom]byte
	escapeNothing(unsafe.Pointer(&b))
}

// growStackDeep is growStack for EraseDeep.
//
//go:noinline
func growStackDeep() {
	var b [deepWipeDepth + growHeadroom]byte
	escapeNothing(unsafe.Pointer(&b))
}

// wipeRegisters does nothing here: Go cannot name registers, and this
// architecture has no assembly in this package. What the hash code left
// in vector registers stays until other code reuses them.
func wipeRegisters() {}

// RegisterFileSize is the size of what SpillRegistersForTest writes.
const RegisterFileSize = 0

// SpillRegistersForTest does nothing on this architecture.
func SpillRegistersForTest(*[RegisterFileSize]byte) {}
