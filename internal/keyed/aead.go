package keyed

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"

	"golang.org/x/crypto/chacha20"
	//lint:ignore SA1019 the one-time key comes from ChaCha20 block 0 as RFC 8439 prescribes; the AEAD package would keep its key on the heap.
	"golang.org/x/crypto/poly1305"
)

// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha, on RFC 8439's
// ChaCha20-Poly1305), in place, for sealed cells.
//
// golang.org/x/crypto/chacha20poly1305 computes the same, but NewX copies
// the key into a heap object that lives until the garbage collector
// reuses its memory. Its building blocks keep their state where the
// caller puts it: chacha20.NewUnauthenticatedCipher is inlined, so the
// cipher (the HChaCha20 subkey and a block of key stream) is a local of
// Seal and Open, as is the Poly1305 state; both are zeroed and then
// erased with the rest of the stack. Tests compare the output with
// chacha20poly1305.NewX byte for byte and with the draft's test vector.

const (
	// NonceSize is XChaCha20's nonce: 192 bits, safe to draw at random
	// for every message.
	NonceSize = 24
	// TagSize is Poly1305's tag.
	TagSize = poly1305.TagSize
	// KeySize is the cipher's key.
	KeySize = chacha20.KeySize
)

// Seal encrypts data in place under key and nonce, and writes into tag the
// Poly1305 tag over ad and the ciphertext. A nonce must never be used
// twice with one key.
func Seal(key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) {
	Erase(func() { seal(key, nonce, ad, data, tag) })
}

func seal(key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) {
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce[:])
	if err != nil {
		return // only for wrong key or nonce sizes, which the types exclude
	}
	var polyKey [32]byte
	c.XORKeyStream(polyKey[:], polyKey[:])
	c.SetCounter(1)
	c.XORKeyStream(data, data)
	authenticate(&polyKey, ad, data, tag)
	*c = chacha20.Cipher{}
	polyKey = [32]byte{}
}

// SealDerived seals as Seal does under the key SHA-256(secret), which it
// computes into *key, a buffer the caller keeps in protected memory, and
// zeroes again. The hash's state and the cipher's are erased together:
// Erase calls cannot nest (an inner one may grow the stack and leave the
// outer call's dead frames in the old one).
func SealDerived(secret []byte, key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) {
	Erase(func() {
		*key = sha256.Sum256(secret)
		seal(key, nonce, ad, data, tag)
		*key = [KeySize]byte{}
	})
}

// OpenDerived opens as Open does under the key SHA-256(secret), computed
// into *key (in protected memory) and zeroed again, in one Erase.
func OpenDerived(secret []byte, key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) (ok bool) {
	Erase(func() {
		*key = sha256.Sum256(secret)
		ok = open(key, nonce, ad, data, tag)
		*key = [KeySize]byte{}
	})
	return ok
}

// Open checks tag against ad and data under key and nonce, in constant
// time, and only if it matches decrypts data in place. It reports whether
// the tag matched; when it did not, data is left as it was.
func Open(key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) (ok bool) {
	Erase(func() { ok = open(key, nonce, ad, data, tag) })
	return ok
}

func open(key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) bool {
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce[:])
	if err != nil {
		return false
	}
	var polyKey [32]byte
	c.XORKeyStream(polyKey[:], polyKey[:])
	var want [TagSize]byte
	authenticate(&polyKey, ad, data, &want)
	ok := subtle.ConstantTimeCompare(want[:], tag[:]) == 1
	if ok {
		c.SetCounter(1)
		c.XORKeyStream(data, data)
	}
	*c = chacha20.Cipher{}
	polyKey = [32]byte{}
	return ok
}

var zeros [16]byte

// authenticate writes the RFC 8439 tag: Poly1305 over ad and the
// ciphertext, each padded to 16 bytes, then both lengths.
func authenticate(polyKey *[32]byte, ad, ct []byte, tag *[TagSize]byte) {
	m := poly1305.New(polyKey)
	m.Write(ad)
	m.Write(zeros[:(16-len(ad)%16)%16])
	m.Write(ct)
	m.Write(zeros[:(16-len(ct)%16)%16])
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[:8], uint64(len(ad)))
	binary.LittleEndian.PutUint64(lens[8:], uint64(len(ct)))
	m.Write(lens[:])
	m.Sum(tag[:0])
}
