package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
	"math/bits"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// ecdsaScalar is a P-256 private scalar as math/big's words, least
// significant first: a big.Int made with SetBits over them reads the
// scalar straight from the cell.
type ecdsaScalar struct {
	words [32 / (bits.UintSize / 8)]big.Word
}

// ECDSAPrivateKey is an ECDSA P-256 key whose scalar lives in a cell: a
// crypto.Signer for crypto/tls and anything else that takes one, making
// ASN.1 signatures as crypto/ecdsa's PrivateKey.Sign does (randomised,
// or RFC 6979 deterministic when rand is nil).
//
// crypto/ecdsa offers no way to sign without a *ecdsa.PrivateKey, and
// from that it makes its own copy of the scalar. So each signature
// builds a PrivateKey whose D reads its words from the cell (no copy),
// signs with it on a stack that is wiped with the registers before Sign
// returns, and then, with Go 1.25 and later, wipes the copy crypto/ecdsa
// cached for that PrivateKey (PrivateKey.Bytes returns that very slice;
// TestTheCachedScalarIsWiped checks it still does). What stays, per
// signature, on the Go heap until the heap reuses it: the nonce and the
// HMAC-DRBG state that made it (either, with the signature, gives the
// key), which crypto/ecdsa allocates and drops; built with
// GOEXPERIMENT=runtimesecret the runtime erases them when they are
// collected. With Go 1.24, crypto/ecdsa also makes two heap copies of the
// scalar per signature that nothing can reach to wipe. The README's
// proof section counts them.
type ECDSAPrivateKey struct {
	box secret.Box[ecdsaScalar]
	pub ecdsa.PublicKey
}

// newECDSA makes a P-256 key from its scalar, big-endian (in a cell), and
// checks it against the public point stored with it, if any.
func newECDSA(scalar, point []byte) (*ECDSAPrivateKey, error) {
	curve := elliptic.P256()
	if len(scalar) == 0 || len(scalar) > 32 {
		return nil, fmt.Errorf("%w: a P-256 scalar of %d bytes", ErrKeyFormat, len(scalar))
	}
	box, err := secret.NewBox(ecdsaScalar{})
	if err != nil {
		return nil, err
	}
	var x, y *big.Int
	valid := false
	err = box.Update(func(s *ecdsaScalar) error {
		keyed.EraseDeep(func() {
			var be [32]byte
			copy(be[32-len(scalar):], scalar)
			valid = inRange(&be, &p256Order)
			if valid {
				loadWords(s, &be)
				//lint:ignore SA1019 the only scalar multiplication in the standard
				// library that takes the scalar as a slice and keeps no copy of it.
				x, y = curve.ScalarBaseMult(be[:])
			}
		})
		return nil
	})
	if err == nil && !valid {
		err = fmt.Errorf("%w: the P-256 scalar is zero or not less than the group order", ErrKeyFormat)
	}
	if err == nil && point != nil {
		//lint:ignore SA1019 public data: the encoding of a public point.
		want := elliptic.Marshal(curve, x, y)
		if subtle.ConstantTimeCompare(want, point) != 1 {
			err = errPublicMismatch
		}
	}
	if err == nil {
		err = box.Freeze() // signatures read it without the box's lock
	}
	if err != nil {
		box.Destroy()
		return nil, err
	}
	return &ECDSAPrivateKey{box: box, pub: ecdsa.PublicKey{Curve: curve, X: x, Y: y}}, nil
}

// p256Order is the order of P-256's group, big-endian.
var p256Order = func() (n [32]byte) {
	elliptic.P256().Params().N.FillBytes(n[:])
	return n
}()

// inRange reports whether 0 < d < n, without branching on d.
func inRange(d, n *[32]byte) bool {
	var borrow, nonzero uint64
	for i := 31; i >= 0; i-- {
		// d - n, byte by byte from the least significant end.
		diff := uint64(d[i]) - uint64(n[i]) - borrow
		borrow = (diff >> 63) & 1
		nonzero |= uint64(d[i])
	}
	return borrow == 1 && nonzero != 0
}

// loadWords writes the big-endian be into s's words.
func loadWords(s *ecdsaScalar, be *[32]byte) {
	const size = bits.UintSize / 8
	for i := range s.words {
		var w big.Word
		for _, b := range be[32-size*(i+1) : 32-size*i] {
			w = w<<8 | big.Word(b)
		}
		s.words[i] = w
	}
}

// Public returns the public key, an *ecdsa.PublicKey.
func (k *ECDSAPrivateKey) Public() crypto.PublicKey {
	pub := k.pub
	return &pub
}

// Sign signs digest, the hash of a message by opts.HashFunc(), and
// returns an ASN.1 signature, as crypto/ecdsa's PrivateKey.Sign does: rand
// nil makes a deterministic RFC 6979 signature.
func (k *ECDSAPrivateKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	// crypto/ecdsa's deterministic signing panics on a hash it cannot
	// make (crypto.Hash(0), an unknown or unlinked one), and a panic would
	// leave EraseDeep before its wipe. So would any other: signECDSA wipes
	// the cached scalar in a defer.
	if rand == nil && opts != nil && !opts.HashFunc().Available() {
		return nil, fmt.Errorf("sign: a deterministic ECDSA signature needs the digest's hash, not %v", opts.HashFunc())
	}
	var sig []byte
	var serr error
	err := k.box.Use(func(s *ecdsaScalar) error {
		keyed.EraseDeep(func() { sig, serr = signECDSA(&k.pub, s, rand, digest, opts) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sig, serr
}

// signECDSA signs with a PrivateKey whose D reads the scalar from the
// cell, then wipes what crypto/ecdsa kept of it. It runs in EraseDeep.
func signECDSA(pub *ecdsa.PublicKey, s *ecdsaScalar, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	d := new(big.Int).SetBits(s.words[:])
	priv := &ecdsa.PrivateKey{PublicKey: *pub, D: d}
	defer func() {
		wipeCachedScalar(priv)
		d.SetBits(nil)
	}()
	return priv.Sign(rand, digest, opts)
}

// Destroy wipes the key's cell.
func (k *ECDSAPrivateKey) Destroy() { k.box.Destroy() }
