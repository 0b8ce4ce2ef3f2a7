package keyed

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"reflect"
	"testing"
)

// shadowDigest is SHA-256 in a layout the standard library might adopt:
// h first, an int nx, no pointers, and a second copy of the chaining
// value between h and the block buffer (as an implementation that keeps
// a SIMD-friendly form of the state might). Copying its memory whole
// saves and restores it correctly, so the functional probe passes; but
// an HMAC restores and wipes only h and what follows nx, so the shadow
// would keep the key's midstates and the inner hash on the heap.
type shadowDigest struct {
	h      [8]uint32
	shadow [8]uint32
	x      [sha256.BlockSize]byte
	nx     int
	len    uint64
}

func newShadow() hash.Hash { return &shadowDigest{h: blankSHA256()} }

func blankSHA256() (h [8]uint32) {
	s, _ := sha256.New().(encoding.BinaryAppender).AppendBinary(nil)
	for i := range h {
		h[i] = binary.BigEndian.Uint32(s[4+4*i:])
	}
	return h
}

// real loads the state into crypto/sha256.
func (d *shadowDigest) real() hash.Hash {
	s := []byte("sha\x03")
	for _, w := range d.h {
		s = binary.BigEndian.AppendUint32(s, w)
	}
	s = append(s, d.x[:]...)
	s = binary.BigEndian.AppendUint64(s, d.len)
	r := sha256.New()
	if err := r.(encoding.BinaryUnmarshaler).UnmarshalBinary(s); err != nil {
		panic(err)
	}
	return r
}

func (d *shadowDigest) Write(p []byte) (int, error) {
	r := d.real()
	r.Write(p)
	s, _ := r.(encoding.BinaryAppender).AppendBinary(nil)
	for i := range d.h {
		d.h[i] = binary.BigEndian.Uint32(s[4+4*i:])
	}
	copy(d.x[:], s[36:])
	d.len = binary.BigEndian.Uint64(s[36+sha256.BlockSize:])
	d.nx = int(d.len % sha256.BlockSize)
	d.shadow = d.h
	return len(p), nil
}

func (d *shadowDigest) Sum(b []byte) []byte { return d.real().Sum(b) }
func (d *shadowDigest) Reset()              { *d = shadowDigest{h: blankSHA256()} }
func (d *shadowDigest) Size() int           { return sha256.Size }
func (d *shadowDigest) BlockSize() int      { return sha256.BlockSize }

// The probe accepts only a layout in which the partial copies of
// restoreKey and wipeKey are complete: h, then the block buffer x and
// nothing else up to nx, then the counts.
func TestTheLayoutProbeRefusesStateOutsideTheCopies(t *testing.T) {
	// The fake is a correct SHA-256: the probe refuses it for its layout,
	// not because it hashes wrongly.
	f := newShadow()
	f.Write(filled(100, 1))
	g := sha256.New()
	g.Write(filled(100, 1))
	if string(f.Sum(nil)) != string(g.Sum(nil)) {
		t.Fatal("the shadow digest is not SHA-256")
	}
	if l := rawLayoutOf(SHA256, newShadow, reflect.Uint32); l.size != 0 {
		t.Errorf("a layout with a copy of the chaining value between h and nx was accepted (%+v)", l)
	}
	if l := rawLayoutOf(SHA256, sha256.New, reflect.Uint32); l.size == 0 {
		t.Error("the standard library's SHA-256 layout was refused")
	}
}
