package sign

import (
	"crypto"
	"io"

	"github.com/secretmem/secretmem/secret"
)

// Signer is a crypto.Signer whose private key is read through a
// secret.Source, so that a rotated key signs from the next call on, the
// way HMAC follows its key. The key's cell may hold a PEM or DER private
// key (as ParsePrivateKey reads), or a raw Ed25519 seed of 32 bytes (64
// with the public key).
//
// Public and Sign each use the key current when they are called: code
// that must pair a public key with signatures (a certificate, a JWKS)
// takes the key once with Current and uses that. A Signer is safe for
// concurrent use.
type Signer struct {
	f follower[loadedKey]
}

type loadedKey struct{ PrivateKey }

func (k loadedKey) destroy() { k.Destroy() }

// NewSigner returns a Signer for the private key src holds under key. It
// loads the key now, so that a missing or malformed key is reported at
// start-up. Replaced keys are destroyed as HMAC's are.
func NewSigner(src secret.Source, key string) (*Signer, error) {
	s := &Signer{f: follower[loadedKey]{src: src, name: key, load: loadSigningKey}}
	if _, err := s.f.get(); err != nil {
		return nil, err
	}
	return s, nil
}

func loadSigningKey(v secret.Value) (loadedKey, error) {
	var key PrivateKey
	err := v.Use(func(b []byte) error {
		k, raw, err := rawEd25519(b)
		if raw {
			key = k
			return err
		}
		key, err = parsePrivateKey(b)
		return err
	})
	return loadedKey{key}, err
}

// Current returns the key the source holds now. It stays usable after a
// rotation until its cell is destroyed (see NewHMAC).
func (s *Signer) Current() (PrivateKey, error) {
	k, err := s.f.get()
	return k.PrivateKey, err
}

// Public returns the current key's public key, or nil if the key cannot
// be read.
func (s *Signer) Public() crypto.PublicKey {
	k, err := s.f.get()
	if err != nil {
		return nil
	}
	return k.Public()
}

// Sign signs with the current key (see Ed25519PrivateKey.Sign and
// ECDSAPrivateKey.Sign).
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k, err := s.f.get()
	if err != nil {
		return nil, err
	}
	return k.Sign(rand, digest, opts)
}

// Close destroys the cells of every key the Signer loaded. Later calls
// fail with ErrClosed.
func (s *Signer) Close() { s.f.close() }
