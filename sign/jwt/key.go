package jwt

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

// Algorithm is a JWS algorithm name (RFC 7518, RFC 8037).
type Algorithm string

// The algorithms this package signs and verifies. "none" is never
// accepted.
const (
	HS256 Algorithm = "HS256" // HMAC-SHA256 with a secret key
	HS512 Algorithm = "HS512" // HMAC-SHA512 with a secret key
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// A Key signs and verifies tokens of one algorithm, pinned when the key
// is made: a token whose header names another algorithm is never
// checked with it. ID is the key's "kid", written into the tokens it
// signs and used to pick the key for a token that names one.
type Key struct {
	id   string
	alg  Algorithm
	mac  *sign.HMAC        // HS256, HS512
	priv *sign.Signer      // EdDSA with a private key
	pub  ed25519.PublicKey // EdDSA with a public key only
}

var b64 = base64.RawURLEncoding.Strict()

// ErrKey reports a key that cannot be made: a wrong algorithm for its
// kind, a short HMAC secret. It names the key, never the secret.
var ErrKey = errors.New("jwt: invalid key")

// minHMACKey is RFC 7518's floor (section 3.2): an HMAC key at least as
// long as the hash's output.
func minHMACKey(alg Algorithm) int {
	if alg == HS512 {
		return 64
	}
	return 32
}

// HMACKey returns an HS256 or HS512 key whose secret src holds under
// name, read at each use (see sign.NewHMAC): a rotated secret signs and
// verifies from the next token on. The secret must be at least as long as
// the hash's output (32 or 64 bytes), as RFC 7518 requires; after a
// rotation to a shorter one, the key signs and verifies nothing (the
// error wraps sign.ErrShortKey) until the source holds a long one.
func HMACKey(alg Algorithm, id string, src secret.Source, name string) (*Key, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var h sign.Hash
	switch alg {
	case HS256:
		h = sign.SHA256
	case HS512:
		h = sign.SHA512
	default:
		return nil, fmt.Errorf("%w: %q is not an HMAC algorithm (HS256, HS512)", ErrKey, alg)
	}
	if n := src.Secret(name).Len(); n > 0 && n < minHMACKey(alg) {
		return nil, fmt.Errorf("%w: the secret %q has %d bytes; %s needs at least %d (RFC 7518, 3.2)", ErrKey, name, n, alg, minHMACKey(alg))
	}
	// Checked again at every rotation: a short secret fails closed.
	mac, err := sign.NewHMAC(h, src, name, sign.MinKeySize(minHMACKey(alg)))
	if err != nil {
		return nil, err
	}
	return &Key{id: id, alg: alg, mac: mac}, nil
}

// EdDSAKey returns an EdDSA key whose Ed25519 private key src holds under
// name (PEM, DER or a raw seed, as sign.NewSigner reads), read at each
// use. It signs, and verifies with the current key's public key.
func EdDSAKey(id string, src secret.Source, name string) (*Key, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	s, err := sign.NewSigner(src, name)
	if err != nil {
		return nil, err
	}
	if _, ok := s.Public().(ed25519.PublicKey); !ok {
		s.Close()
		return nil, fmt.Errorf("%w: %q is not an Ed25519 key", ErrKey, name)
	}
	return &Key{id: id, alg: EdDSA, priv: s}, nil
}

// EdDSAPublicKey returns a key that verifies EdDSA tokens with pub.
func EdDSAPublicKey(id string, pub ed25519.PublicKey) (*Key, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: an Ed25519 public key is %d bytes, not %d", ErrKey, ed25519.PublicKeySize, len(pub))
	}
	// A small-order key (32 zero bytes is one) would verify forgeries.
	if err := keyed.CheckEd25519PublicKey(pub); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return &Key{id: id, alg: EdDSA, pub: append(ed25519.PublicKey(nil), pub...)}, nil
}

// checkID refuses a kid that is not UTF-8: a JSON string cannot carry
// it, so the key's tokens would name another kid than the key's.
func checkID(id string) error {
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: the kid is not UTF-8", ErrKey)
	}
	return nil
}

// ID returns the key's "kid".
func (k *Key) ID() string { return k.id }

// Algorithm returns the algorithm the key is pinned to.
func (k *Key) Algorithm() Algorithm { return k.alg }

// publicKey returns the Ed25519 key an EdDSA token is checked with.
func (k *Key) publicKey() (ed25519.PublicKey, error) {
	if k.pub != nil {
		return k.pub, nil
	}
	cur, err := k.priv.Current()
	if err != nil {
		return nil, err
	}
	pub, ok := cur.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is no longer an Ed25519 key", ErrKey)
	}
	return pub, nil
}

// Close destroys the cells the key derived (not the source's).
func (k *Key) Close() {
	switch {
	case k.mac != nil:
		k.mac.Close()
	case k.priv != nil:
		k.priv.Close()
	}
}
