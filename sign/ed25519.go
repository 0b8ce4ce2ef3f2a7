package sign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// Ed25519PrivateKey is an Ed25519 key (RFC 8032) in protected memory: a
// crypto.Signer for plain Ed25519, Ed25519ctx and Ed25519ph, taking the
// same options as crypto/ed25519 and making the same signatures.
//
// Its cell holds the key as signing uses it: the secret scalar and the
// nonce prefix (both from SHA-512 of the seed) and the public key. A
// signature hashes the prefix with the message in a reused SHA-512 that
// is wiped afterwards, and computes the nonce, the scalars and the points
// on a stack that is wiped with the registers before Sign returns. The
// seed is read once, when the key is made.
//
// crypto/ed25519 cannot be given a key in protected memory: since Go 1.25
// it caches the expanded key under a weak pointer to the key's first
// byte, and the runtime kills the process ("fatal error: getWeakHandle on
// invalid pointer") when that byte is not on the Go heap. So the
// signature is computed by this package, with filippo.io/edwards25519
// (the upstream of Go's own edwards25519 package); TestEd25519MatchesCryptoEd25519
// and the RFC 8032 vectors hold it to crypto/ed25519's output.
type Ed25519PrivateKey struct {
	box secret.Box[keyed.Ed25519Key]
	pub ed25519.PublicKey
}

// sha512Digests serve every Ed25519 key; a Digest holds nothing between
// calls.
var sha512Digests = sync.Pool{New: func() any {
	d, _ := keyed.NewDigest(keyed.SHA512) // SHA-512 can always save its state
	return d
}}

// NewEd25519PrivateKey makes an Ed25519 key from a cell holding its
// 32-byte seed (RFC 8032's private key), or the 64 bytes of Go's
// ed25519.PrivateKey (seed, then public key, which must match). The cell
// is read once; the key keeps cells of its own.
func NewEd25519PrivateKey(seed secret.Value) (*Ed25519PrivateKey, error) {
	var k *Ed25519PrivateKey
	err := seed.Use(func(b []byte) error {
		var err error
		var raw bool
		if k, raw, err = rawEd25519(b); !raw {
			err = fmt.Errorf("%w: an Ed25519 seed is 32 bytes (or 64 with the public key), not %d", ErrKeyFormat, len(b))
		}
		return err
	})
	return k, err
}

// rawEd25519 makes a key of b when it is a raw Ed25519 key: a 32-byte
// seed, or Go's 64-byte ed25519.PrivateKey. raw is false for any other
// length.
func rawEd25519(b []byte) (k *Ed25519PrivateKey, raw bool, err error) {
	switch len(b) {
	case ed25519.SeedSize:
		k, err = newEd25519(b, nil)
	case ed25519.PrivateKeySize:
		k, err = newEd25519(b[:32], b[32:])
	default:
		return nil, false, nil
	}
	return k, true, err
}

var errPublicMismatch = fmt.Errorf("%w: the public key stored with the private key does not match it", ErrKeyFormat)

// newEd25519 derives a key from seed (in a cell) into a new cell. pub, if
// not nil, is the public key the seed must give.
func newEd25519(seed, pub []byte) (*Ed25519PrivateKey, error) {
	box, err := secret.NewBox(keyed.Ed25519Key{})
	if err != nil {
		return nil, err
	}
	d := sha512Digests.Get().(*keyed.Digest)
	defer sha512Digests.Put(d)
	var public [32]byte
	err = box.Update(func(k *keyed.Ed25519Key) error {
		if err := k.SetSeed(d, seed); err != nil {
			return err
		}
		public = k.Public()
		return nil
	})
	if err == nil && pub != nil && subtle.ConstantTimeCompare(pub, public[:]) != 1 {
		err = errPublicMismatch
	}
	if err == nil {
		err = box.Freeze() // signatures read it without the box's lock
	}
	if err != nil {
		box.Destroy()
		return nil, err
	}
	return &Ed25519PrivateKey{box: box, pub: ed25519.PublicKey(public[:])}, nil
}

// Public returns the public key, an ed25519.PublicKey.
func (k *Ed25519PrivateKey) Public() crypto.PublicKey { return k.PublicKey() }

// PublicKey returns the public key.
func (k *Ed25519PrivateKey) PublicKey() ed25519.PublicKey {
	return ed25519.PublicKey(bytes.Clone(k.pub))
}

// Sign signs message, as crypto/ed25519's PrivateKey.Sign does: opts is
// crypto.Hash(0) (or nil) for Ed25519, an *ed25519.Options with a Context
// for Ed25519ctx, or crypto.SHA512 (or Options with Hash crypto.SHA512)
// for Ed25519ph, where message is the SHA-512 of the message. rand is not
// used: Ed25519 signatures are deterministic.
func (k *Ed25519PrivateKey) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig := make([]byte, ed25519.SignatureSize)
	if err := k.SignTo(sig, message, opts); err != nil {
		return nil, err
	}
	return sig, nil
}

// SignTo is Sign writing the signature into sig, which must be
// ed25519.SignatureSize bytes long: no allocation.
func (k *Ed25519PrivateKey) SignTo(sig, message []byte, opts crypto.SignerOpts) error {
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("sign: an Ed25519 signature takes %d bytes, not %d", ed25519.SignatureSize, len(sig))
	}
	dom, err := ed25519Domain(message, opts)
	if err != nil {
		return err
	}
	d := sha512Digests.Get().(*keyed.Digest)
	err = k.box.Use(func(key *keyed.Ed25519Key) error {
		return key.Sign(d, (*[ed25519.SignatureSize]byte)(sig), dom, message)
	})
	sha512Digests.Put(d)
	return err
}

// ed25519Domain returns RFC 8032's dom2 prefix for opts (nil for plain
// Ed25519), checking what crypto/ed25519 checks.
func ed25519Domain(message []byte, opts crypto.SignerOpts) ([]byte, error) {
	var hash crypto.Hash
	context := ""
	if opts != nil {
		hash = opts.HashFunc()
	}
	if o, ok := opts.(*ed25519.Options); ok {
		context = o.Context
	}
	if len(context) > 255 {
		return nil, errors.New("sign: an Ed25519 context is at most 255 bytes")
	}
	var ph byte
	switch {
	case hash == crypto.SHA512:
		if len(message) != 64 {
			return nil, errors.New("sign: Ed25519ph signs a 64-byte SHA-512 hash")
		}
		ph = 1
	case hash == crypto.Hash(0) && context != "":
	case hash == crypto.Hash(0):
		return nil, nil
	default:
		return nil, errors.New("sign: Ed25519 signs an unhashed message (crypto.Hash(0)) or, as Ed25519ph, a SHA-512 hash")
	}
	dom := make([]byte, 0, 34+len(context))
	dom = append(dom, "SigEd25519 no Ed25519 collisions"...)
	dom = append(dom, ph, byte(len(context)))
	return append(dom, context...), nil
}

// Destroy wipes the key's cell.
func (k *Ed25519PrivateKey) Destroy() { k.box.Destroy() }
