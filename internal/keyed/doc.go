// Package keyed runs the keyed primitives secretmem needs (HMAC-SHA256,
// HMAC-SHA512, Ed25519 signing and the XChaCha20-Poly1305 that seals
// cells) so that no key, and nothing derived from one, is left behind
// outside protected memory.
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
//     it for the length of one call, by copying the digest's memory when
//     its layout is known and checked (raw.go), else through
//     encoding.BinaryUnmarshaler as crypto/hmac itself does, and its
//     chaining value and counts are overwritten with the hash's blank state
//     and its block buffer and scratch cleared before the call returns, so
//     between calls it holds nothing derived from a key, and nothing of the
//     message either: a message can be a secret (package config MACs the
//     content of secret files). An HMAC writes its own padding and reads
//     the hash from the digest rather than calling Sum, which would copy
//     the digest onto the stack. The standard library's SHA-NI and AVX2
//     code does the hashing: a compression function written here would
//     cost several times as much.
//   - What a call leaves on its goroutine's stack (the block function's
//     frames, a cipher's state) and in registers is erased by [Erase]
//     ([EraseMAC] for the shallower per-message HMAC calls) before the call
//     returns. Every exported operation runs inside one erasure of its own,
//     so none may be called from inside another.
//
// An HMAC keyed from a cell, as package secret can expose one (a Stream
// is pointer-free, so it can live in a cell as a Box's value does):
//
//	d, _ := keyed.NewDigest(keyed.SHA256) // one per hash.Hash, reused
//	st.Set(d, key)                        // key read from its cell, st in another
//	st.Reset()                            // per message; no hashing
//	_ = st.Write(d, msg)                  // any number of times
//	tag, _ := st.Sum(d, buf[:0])          // or ok, _ := st.Verify(d, tag)
//
// st must be open for writing while Set, Write and Sum run (Write and Sum
// keep the running state in it). Each call is one EraseMAC, about 10 ns on
// this repository's machine; Key.Sum and Key.Verify hash a whole message
// in one, and cost what crypto/hmac's reused Reset, Write and Sum do
// (174 against 176 ns for 32 bytes). Key.Check compares the HMAC with a tag in another form (a
// JWT's base64url) inside the same Erase. Erase is also the stack wipe
// for other key material: run the computation inside it, within its
// depth, and never call Erase from inside another. EraseDeep is the same
// for signatures (Ed25519Key.Sign, and Go's ECDSA as package sign runs
// it), whose curve arithmetic goes deeper than Erase wipes.
//
// The package holds no state of its own and never panics on input: an
// unset or damaged Key or Stream is an error (ErrHash, ErrState).
package keyed
