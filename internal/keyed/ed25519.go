package keyed

import (
	"bytes"
	"errors"

	"filippo.io/edwards25519"
)

// Ed25519 signing (RFC 8032) with the key in protected memory.
//
// Why not crypto/ed25519: since Go 1.25 its Sign and PrivateKey.Sign look
// the key up in a cache (crypto/internal/fips140cache) under a weak
// pointer to the key's first byte. For a key in protected memory the
// runtime cannot make that pointer and the process dies ("fatal error:
// getWeakHandle on invalid pointer", not a panic a caller can recover);
// for a key on the Go heap the cache keeps the expanded key (seed, secret
// scalar and nonce prefix) in a heap object of its own until the key
// slice is collected, and nothing wipes it then. Go 1.24 has no cache but
// expands the key per signature into a struct that escapes to the heap.
// So the signature is computed here, from the same building blocks
// (filippo.io/edwards25519 is the upstream of Go's own edwards25519
// package), with the expanded key in a pointer-free Ed25519Key that lives
// in a cell, the hashes in a reused Digest that is wiped, and every
// temporary (the nonce r, the scalars, the points) on a stack that
// EraseDeep wipes.

// Ed25519SeedSize is the length of an Ed25519 private key seed.
const Ed25519SeedSize = 32

// Ed25519SignatureSize is the length of an Ed25519 signature.
const Ed25519SignatureSize = 64

// ErrSeed reports a seed that is not Ed25519SeedSize bytes long.
var ErrSeed = errors.New("keyed: an Ed25519 seed is 32 bytes")

// ErrPublicKey reports an Ed25519 public key that no honest key pair
// has: not the canonical encoding of a point, or a point of small order.
var ErrPublicKey = errors.New("keyed: not an Ed25519 public key (not a canonical point, or of small order)")

// CheckEd25519PublicKey refuses a public key that is not the canonical
// encoding of a point, or whose point has small order. crypto/ed25519
// verifies against such keys; with a small-order one, [k]A takes at most
// eight values and a signature with S = 0 verifies for about one message
// in eight, so anyone can forge. 32 zero bytes (an unset key) decode to
// a point of order 4. Public data: no erasure needed.
func CheckEd25519PublicKey(pub []byte) error {
	var p edwards25519.Point
	if len(pub) != 32 {
		return ErrPublicKey
	}
	if _, err := p.SetBytes(pub); err != nil || !bytes.Equal(p.Bytes(), pub) {
		return ErrPublicKey
	}
	if p.MultByCofactor(&p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return ErrPublicKey
	}
	return nil
}

// Ed25519Key is an Ed25519 private key in the form signing uses: the
// secret scalar s and the nonce prefix, both from SHA-512 of the seed, and
// the public key. s and the prefix sign as the seed does, so an
// Ed25519Key counts as a copy of the key: it holds no pointers and must
// live in protected memory. Its zero value holds no key.
type Ed25519Key struct {
	scalar [32]byte // s mod L, little-endian (RFC 8032's clamped integer, reduced)
	prefix [32]byte // the second half of SHA-512(seed)
	public [32]byte // A = s·B, encoded
	set    bool
}

// Public returns the public key (32 bytes; zeros if k is unset).
func (k *Ed25519Key) Public() [32]byte { return k.public }

// SetSeed derives k from seed (RFC 8032, 5.1.5). d must be a SHA512
// Digest.
func (k *Ed25519Key) SetSeed(d *Digest, seed []byte) error {
	if d.hash != SHA512 {
		return ErrHash
	}
	if len(seed) != Ed25519SeedSize {
		return ErrSeed
	}
	EraseDeep(func() { k.setSeed(d, seed) })
	return nil
}

func (k *Ed25519Key) setSeed(d *Digest, seed []byte) {
	d.h.Write(seed)
	h := d.h.Sum(d.inner[:0])
	d.wipe()
	var s edwards25519.Scalar
	// SetBytesWithClamping only fails on a length other than 32.
	_, _ = s.SetBytesWithClamping(h[:32])
	copy(k.prefix[:], h[32:])
	var a edwards25519.Point
	a.ScalarBaseMult(&s)
	copy(k.public[:], a.Bytes())
	copy(k.scalar[:], s.Bytes())
	d.inner = [MaxSize]byte{}
	k.set = true
}

// Sign writes the Ed25519 signature of msg into sig (RFC 8032, 5.1.6).
// dom is the dom2 prefix of Ed25519ctx and Ed25519ph (then msg is the
// context's message or the SHA-512 of the message), nil for plain
// Ed25519. d must be a SHA512 Digest.
func (k *Ed25519Key) Sign(d *Digest, sig *[Ed25519SignatureSize]byte, dom, msg []byte) error {
	if d.hash != SHA512 {
		return ErrHash
	}
	if !k.set {
		return ErrState
	}
	var err error
	EraseDeep(func() { err = k.sign(d, sig, dom, msg) })
	return err
}

func (k *Ed25519Key) sign(d *Digest, sig *[Ed25519SignatureSize]byte, dom, msg []byte) error {
	var s, r, c, sum edwards25519.Scalar
	if _, err := s.SetCanonicalBytes(k.scalar[:]); err != nil {
		return ErrState
	}
	// r = SHA-512(dom || prefix || msg) mod L: the nonce, as secret as s.
	d.h.Write(dom)
	d.h.Write(k.prefix[:])
	d.h.Write(msg)
	h := d.h.Sum(d.inner[:0])
	d.wipe()
	// SetUniformBytes only fails on a length other than 64.
	_, _ = r.SetUniformBytes(h)
	var rp edwards25519.Point
	rp.ScalarBaseMult(&r)
	copy(sig[:32], rp.Bytes())
	// c = SHA-512(dom || R || A || msg) mod L, S = r + c·s mod L.
	d.h.Write(dom)
	d.h.Write(sig[:32])
	d.h.Write(k.public[:])
	d.h.Write(msg)
	h = d.h.Sum(d.inner[:0])
	d.wipe()
	_, _ = c.SetUniformBytes(h)
	sum.MultiplyAdd(&c, &s, &r)
	copy(sig[32:], sum.Bytes())
	d.inner = [MaxSize]byte{}
	return nil
}
