package keyed

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
)

// torsion returns the eight points of small order, found as [L]P for
// random points P until one has order 8, and its multiples.
func torsion(t *testing.T) []*edwards25519.Point {
	var lMinus1 edwards25519.Scalar
	one := make([]byte, 32)
	one[0] = 1
	var s1 edwards25519.Scalar
	if _, err := s1.SetCanonicalBytes(one); err != nil {
		t.Fatal(err)
	}
	lMinus1.Negate(&s1) // L - 1
	for range 1000 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		var p edwards25519.Point
		if _, err := p.SetBytes(b); err != nil {
			continue
		}
		var q edwards25519.Point
		q.ScalarMult(&lMinus1, &p)
		q.Add(&q, &p) // [L]P: P's torsion part, times L
		var q2 edwards25519.Point
		q2.Add(&q, &q)
		q2.Add(&q2, &q2) // [4]q
		if q2.Equal(edwards25519.NewIdentityPoint()) == 1 {
			continue // order below 8
		}
		pts := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
		for i := 1; i < 8; i++ {
			pts = append(pts, new(edwards25519.Point).Add(pts[i-1], &q))
		}
		return pts
	}
	t.Fatal("no point with a torsion part of order 8 in 1000 tries")
	return nil
}

func TestSmallOrderPublicKeysAreRefused(t *testing.T) {
	for i, p := range torsion(t) {
		enc := p.Bytes()
		if err := CheckEd25519PublicKey(enc); err == nil {
			t.Errorf("the small-order point %d·T8 (%x) is accepted", i, enc)
		}
	}
	if err := CheckEd25519PublicKey(make([]byte, 32)); err == nil {
		t.Error("32 zero bytes are accepted")
	}
	// A non-canonical encoding: y = p + 1 (y = 1 is the identity).
	nonCanonical := []byte{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if err := CheckEd25519PublicKey(nonCanonical); err == nil {
		t.Error("a non-canonical encoding is accepted")
	}
	for range 100 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if err := CheckEd25519PublicKey(pub); err != nil {
			t.Fatalf("a genuine public key: %v", err)
		}
	}
}
