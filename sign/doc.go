// Package sign signs and verifies with keys that never leave protected
// memory: HMAC-SHA256 and HMAC-SHA512, Ed25519, and ECDSA P-256 as a
// crypto.Signer (for crypto/tls, for JWTs with package sign/jwt).
//
//	mac, err := sign.NewHMAC(sign.SHA256, cfg, "webhook.key") // cfg: *config.Config
//	tag, err := mac.Sum(nil, body)
//	err = mac.Verify(tag, body)                               // nil, or sign.ErrInvalid
//
//	signer, err := sign.NewSigner(cfg, "signing.ed25519")     // PEM, DER or a raw seed
//	sig, err := signer.Sign(nil, msg, crypto.Hash(0))
//
// # What stays in cells
//
// A key counts with everything derived from it: HMAC's padded key blocks
// and the hash states after them (either computes the HMAC), an Ed25519
// key's secret scalar and nonce prefix, an ECDSA scalar in any encoding.
// These are derived once per key, into cells of their own, and each
// operation runs with them on a stack that is wiped, with the registers,
// before it returns (internal/keyed; runtime/secret under
// GOEXPERIMENT=runtimesecret). Hash objects and scratch buffers are
// reused heap objects that hold key-derived state only during a call and
// are restored to their blank state before it returns. PEM and PKCS #8
// keys are decoded from base64 and parsed inside protected memory.
//
// What Go's own crypto forces, and what this package does about it:
//
//   - crypto/ed25519 cannot sign from protected memory since Go 1.25 (its
//     key cache kills the process; see Ed25519PrivateKey), so Ed25519 is
//     computed here with filippo.io/edwards25519, to the same output.
//   - crypto/ecdsa needs a *ecdsa.PrivateKey and makes its own copy of the
//     scalar: each ECDSA signature uses a PrivateKey whose big.Int reads
//     its words from the cell and wipes crypto/ecdsa's copy afterwards
//     (Go 1.25 and later). The nonce and the HMAC-DRBG state that made it
//     are heap garbage of crypto/ecdsa's until the heap reuses them, or
//     until the collector frees them with GOEXPERIMENT=runtimesecret,
//     which erases them (see ECDSAPrivateKey).
//   - RSA is not offered. crypto/rsa takes a *rsa.PrivateKey (big.Ints for
//     D, the primes and the CRT values) and converts it to a FIPS 140 key
//     whose precomputation (Montgomery parameters for both primes) costs
//     about as much as a signature; a per-signature copy kept to one
//     signature would double the cost of each and still leave the
//     conversion's temporaries on the heap. Use Ed25519 or ECDSA P-256
//     certificates.
//
// # Rotation
//
// Keys are read through a secret.Source (a *config.Config is one) at each
// call: after a reload that changed the key, the next call uses the new
// one. The derived cells of a replaced key are kept while its source cell
// lives (a config keeps replaced cells for a grace period, for work in
// flight) and destroyed with it.
package sign
