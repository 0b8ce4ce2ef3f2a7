// Package keyed runs the keyed primitives secretmem needs (HMAC-SHA256,
// HMAC-SHA512 and the XChaCha20-Poly1305 that seals cells) so that no key,
// and nothing derived from one, is left behind outside protected memory.
//
// Key-derived state counts as a copy of the key: the hash states after
// absorbing key XOR ipad and key XOR opad (the "midstates") compute the
// HMAC as well as the key does, and a cipher's subkeys and key stream
// decrypt as well as its key. So:
//
//   - What must outlive one call lives in a pointer-free struct ([Key],
//     [Stream]) that the caller places in protected memory, next to or
//     instead of the key: a cell. Nothing here allocates protected memory;
//     package secret does.
//   - A hash runs in a [Digest]: an ordinary hash object from crypto/sha256
//     or crypto/sha512, on the Go heap, reused. A midstate is restored into
//     it (encoding.BinaryUnmarshaler, as crypto/hmac itself does) for the
//     length of one call and overwritten with the hash's blank state before
//     the call returns, so between calls it holds nothing derived from a
//     key. The standard library's SHA-NI and AVX2 code does the hashing: a
//     compression function written here would cost several times as much.
//   - What a call leaves on its goroutine's stack (the digest copy that Sum
//     makes, the block function's frames, a cipher's state) and in
//     registers is erased by [Erase] before the call returns. Every exported
//     operation runs inside it; callers composing several operations may
//     wrap the whole in one Erase.
//
// The package holds no state of its own and never panics on input: a
// malformed Key (zero value, or corrupted) computes as an HMAC with the
// hash its first byte names, or reports that it has none.
package keyed
