package keyed

import "golang.org/x/sys/cpu"

// archDepth is how much deeper this architecture's calls go than the
// wipe depths in erase.go, which were measured on amd64: arm64's frames
// are a little larger, and an HMAC check with a base64url match goes 911
// bytes deep where states are marshaled (amd64: 847), past what the MAC
// wipe covers there.
const archDepth = 128

// archDeepDepth is how much deeper EraseDeep wipes here than on amd64:
// none.
const archDeepDepth = 0

// slowHashDepth is how much further the wipes reach where deepHashes is
// set: without the SHA-512 instructions an HMAC-SHA512 goes 432 bytes
// deeper (qemu-user as a Neoverse N1 or Cortex-A72), and the margin is
// amd64's.
const slowHashDepth = 768

// fastHashCPU reports whether crypto/sha256 and crypto/sha512 run their
// SHA-2 and SHA-512 instruction code here.
func fastHashCPU() bool { return cpu.ARM64.HasSHA2 && cpu.ARM64.HasSHA512 }

// growStack makes sure the goroutine's stack has wipeDepth+growHeadroom
// free bytes below the caller's frame, growing (copying) it now if not,
// before any key material is on it. Its frame is that large and left
// uninitialised: the stack check in its prologue is the whole point.
func growStack()

// growStackDeep is growStack for EraseDeep: deepWipeDepth+growHeadroom.
func growStackDeep()

// wipeRegisters zeroes the general-purpose registers a Go function may
// clobber and the 32 SIMD registers V0-V31.
func wipeRegisters()

// RegisterFileSize is the size of what SpillRegistersForTest writes.
const RegisterFileSize = 26*8 + 32*16

// SpillRegistersForTest stores the general-purpose and SIMD registers
// into p, as they are when it is called. Tests use it to search registers
// for key material.
func SpillRegistersForTest(p *[RegisterFileSize]byte)
