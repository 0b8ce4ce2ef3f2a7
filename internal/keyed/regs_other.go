//go:build !amd64 && !arm64

package keyed

import "unsafe"

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
