package keyed

import "unsafe"

// Erasing the stack.
//
// A function's locals stay in its frame after it returns, until a later
// call happens to reuse those bytes: below the caller's frame lies the
// "dead stack", still holding what the callees computed. For this package
// that is a digest copy (crypto/sha256's Sum copies the whole digest onto
// the stack), the padded key, a cipher's subkey and key stream. Without
// GOEXPERIMENT=runtimesecret, Erase removes them by calling wipeStack from
// the frame that called f: its one local, wipeDepth bytes long, lies over
// every frame f used, and the language zeroes it.
//
// Two more places hold a callee's data. Registers: the SHA-NI and AVX2
// code leaves its last chaining value in vector registers, where nothing
// in ordinary Go code overwrites it soon and a signal handler's saved
// context copies it to memory; wipeRegisters zeroes them (amd64, arm64).
// And an old stack: when a call needs more stack than the goroutine has,
// the runtime copies the stack to a larger one and frees the old one
// without clearing it. growStack, called before f, makes the stack large
// enough for every call this package makes (the tests measure them), so f
// never triggers that copy. What it cannot prevent is the garbage
// collector shrinking the stack while f runs (it may, when a goroutine
// uses under a quarter of its stack); runtime/secret handles that case,
// this package does not.

// wipeDepth is how many bytes below its caller's frame wipeStack zeroes.
// The deepest call run in Erase uses 1,599 bytes (Ed25519 signing), and
// the tests leave a 256-byte margin for their probe, so the wipe is 1.75
// KiB; the race detector's instrumentation makes the cipher's frames
// reach 2.4 KiB, so race builds wipe 1.25 KiB more, and architectures
// other than amd64 and arm64 archDepth more (regs_other.go).
// TestEveryOperationFitsTheWipe measures each operation against it. The
// wipe is most of Erase's cost (about 22 of 30 ns here, the same with
// REP STOSB, SSE or AVX stores: it is bound by store bandwidth), so the
// per-message HMAC calls, which go less deep, use EraseMAC's.
const wipeDepth = 1792 + archDepth + raceDepth

// macWipeDepth is how deep EraseMAC wipes: an HMAC call (Sum, Verify,
// Check, a Stream's Write, Sum and Verify) ends with padding rather than
// the hash's Sum, which copied the digest onto the stack, so the deepest
// uses 687 bytes on amd64 (HMAC-SHA512's Check with a base64url
// decoding), or 847 where states are marshaled (a hash object whose
// layout this package does not know); arm64 911 (its archDepth). With the
// tests' 256-byte margin that is 1,103 bytes, so the wipe is 1,152 rather
// than 1,792; it leaves a Check's match about 500 bytes of stack. Every
// HMAC over a short message pays the wipe, bound by store bandwidth.
// TestEveryOperationFitsTheWipe measures each call, in both forms.
const macWipeDepth = 1152 + archDepth + raceDepth

// hashWipeDepth is how deep eraseHash wipes: the HMAC calls that run no
// code of the caller's (Sum, Verify, a Stream's Write, Sum and Verify) on
// a digest whose states are copied raw, which go at most 655 bytes deep
// on amd64 (HMAC-SHA512's Verify; Sum 567, HMAC-SHA256's 503), 1,231 on
// 386. Check, whose match may use 500 bytes, and the marshaling form stay
// with EraseMAC. With the tests' margin the wipe is 960 bytes: 192 fewer
// stores than EraseMAC's on every HMAC of a short message, about a tenth
// of what the cell adds to crypto/hmac's cost.
const hashWipeDepth = 960 + archDepth + raceHashDepth

// Slower hash code goes deeper. The depths above were measured where
// crypto/sha256 runs SHA-NI and crypto/sha512 AVX2 (amd64), or the SHA-2
// and SHA-512 instructions (arm64). Without them the standard library
// runs other code: on amd64, SHA-256's AVX2 code has a 536-byte frame
// (an HMAC-SHA256 Check then uses 1,175 bytes) and the generic SHA-512
// keeps its 80-word schedule on the stack (Check 1,407 bytes, Key.Set
// 1,695); arm64 without the SHA-512 instructions (Neoverse N1, Cortex-A72)
// runs the generic SHA-512 too (Check 1,343). Where deepHashes is set
// (hashdepth.go: the CPU lacks them, GODEBUG sets cpu.* options, or the
// build is purego), every wipe reaches slowHashDepth further, and
// TestEveryHashImplementationFitsTheWipe measures each implementation in
// a child process with the faster ones turned off.
const (
	wipeDepthSlow    = wipeDepth + slowHashDepth
	macWipeDepthSlow = macWipeDepth + slowHashDepth
)

// wipeDepthNow and macWipeDepthNow are the depths Erase and EraseMAC wipe
// in this process.
func wipeDepthNow() int {
	if deepHashes {
		return wipeDepthSlow
	}
	return wipeDepth
}

func macWipeDepthNow() int {
	if deepHashes {
		return macWipeDepthSlow
	}
	return macWipeDepth
}

// hashWipeDepthNow is the depth eraseHash wipes in this process: where
// deepHashes is set, EraseMAC's.
func hashWipeDepthNow() int {
	if deepHashes {
		return macWipeDepthSlow
	}
	return hashWipeDepth
}

// growHeadroom is what growStack reserves beyond wipeDepth: the runtime's
// stack guard (928 bytes, twice that under the race detector), which
// functions that skip the stack check may use below the last checked
// frame.
const growHeadroom = 2 << 10

// growSize is growStack's frame (the assembly reads it from go_asm.h):
// enough for the deeper wipes too.
const growSize = wipeDepthSlow + growHeadroom //lint:ignore U1000 read by regs_*.s

// The wipes, wipeStack (Erase), wipeStackMAC (EraseMAC), wipeStackHash
// (eraseHash), their slow forms and wipeStackDeep, each zero their depth
// below the caller's frame: their own frame, which starts where the
// frames of the calls the caller made before them started (they are not
// inlined). On amd64 they are assembly (regs_amd64.s) that stores 16
// bytes at a time at 16-byte aligned addresses: the compiler zeroes a
// local array with 16-byte stores from wherever the array lies, and at
// half of the stack's 8-byte alignments one store in four then straddles
// two cache lines, which made a 1,152-byte wipe cost 26.5 rather than 14
// ns of CPU time, varying with the depth of the caller's stack. Elsewhere
// they are Go (wipe_generic.go).

// deepWipeDepth is how many bytes below its caller's frame wipeStackDeep
// zeroes, for EraseDeep: Go's ECDSA signing and Ed25519 verification go
// 6.1 and 5.5 KiB deep on amd64 (6.7 and 6.2 KiB under the race
// detector), this package's Ed25519 signing 1.6 KiB. The tests here and
// in package sign measure every operation run in an EraseDeep against it.
// Architectures without assembly for P-256 go deeper (archDeepDepth:
// 8,419 bytes on 386, which CI runs). Wiping 9 KiB costs well under a microsecond, against 20 µs and more for
// a signature.
const deepWipeDepth = 8<<10 + archDeepDepth + raceDepth

// DeepWipeDepthForTest is how deep EraseDeep wipes, for the tests of
// packages that run their own computations in it.
func DeepWipeDepthForTest() int { return deepWipeDepth }

// growDeepSize is growStackDeep's frame.
const growDeepSize = deepWipeDepth + growHeadroom //lint:ignore U1000 read by regs_*.s

//go:noinline
func escapeNothing(unsafe.Pointer) {}
