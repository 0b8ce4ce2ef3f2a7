package secret_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/chacha20"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// The review's approach: after a sealed read or write returns, copy the
// dead stack below the caller's frame and the registers, and search them
// for everything a seal computes: the pre-key, the cell key hashed from
// it, the HChaCha20 subkey, the Poly1305 key, the key stream, the
// plaintext.

// sealNeedles computes what the cell's latest seal computed.
func sealNeedles(t *testing.T, v secret.Value, pt []byte) keyed.NeedlesForTest {
	t.Helper()
	pre, err := secret.PrekeyForTest(v).Reveal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secret.Wipe(pre) })
	cell := secret.SealedCellForTest(t, v)
	key := sha256.Sum256(pre)
	sub, err := chacha20.HChaCha20(key[:], cell[:16])
	if err != nil {
		t.Fatal(err)
	}
	var nonce [12]byte
	copy(nonce[4:], cell[16:24])
	c, err := chacha20.NewUnauthenticatedCipher(sub, nonce[:])
	if err != nil {
		t.Fatal(err)
	}
	stream := make([]byte, 64+len(pt))
	c.XORKeyStream(stream, stream)
	if !bytes.Equal(xor(stream[64:], pt), cell[secret.SealOverheadForTest:]) {
		t.Fatal("the needles do not reproduce the cell's ciphertext: they are wrong")
	}
	r := bytes.Clone(stream[:16]) // the Poly1305 key as it clamps it
	for _, i := range []int{3, 7, 11, 15} {
		r[i] &= 15
	}
	for _, i := range []int{4, 8, 12} {
		r[i] &= 252
	}
	n := keyed.NeedlesForTest{}
	n.Add("pre-key", pre)
	n.Add("cell key", key[:])
	n.Add("HChaCha20 subkey", sub)
	n.Add("Poly1305 key", r)
	n.Add("Poly1305 key", stream[16:32])
	n.Add("key stream", stream[64:])
	n.Add("plaintext", pt)
	return n
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func TestSealedCallsLeaveNothingOnTheStack(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			opts := append([]secret.Option{secret.Sealed()}, p.opts...)
			pt := []byte(marker(t) + marker(t)) // 56 bytes: two ChaCha20 blocks
			var v secret.Value
			var k [56]byte
			copy(k[:], pt)
			box, err := secret.NewBox(k, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer box.Destroy()
			bv := secret.BoxValueForTest(box)
			calls := []struct {
				name string
				call func()
				// needles is called after the call: a seal's nonce is known
				// only then.
				needles func() keyed.NeedlesForTest
			}{
				{"New", func() {
					var err error
					if v, err = secret.New(bytes.Clone(pt), opts...); err != nil {
						t.Error(err)
					}
				}, func() keyed.NeedlesForTest { return sealNeedles(t, v, pt) }},
				{"Use", func() { _ = v.Use(func([]byte) error { return nil }) },
					func() keyed.NeedlesForTest { return sealNeedles(t, v, pt) }},
				{"Equal", func() { _ = v.Equal(pt) },
					func() keyed.NeedlesForTest { return sealNeedles(t, v, pt) }},
				{"Box.Use", func() { _ = box.Use(func(*[56]byte) error { return nil }) },
					func() keyed.NeedlesForTest { return sealNeedles(t, bv, pt) }},
			}
			var before keyed.NeedlesForTest
			calls = append(calls, struct {
				name    string
				call    func()
				needles func() keyed.NeedlesForTest
			}{"Box.Update", func() {
				_ = box.Update(func(*[56]byte) error { return nil })
			}, func() keyed.NeedlesForTest {
				n := sealNeedles(t, bv, pt)
				n.Merge(before)
				return n
			}})
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					if c.name == "Box.Update" {
						before = sealNeedles(t, bv, pt)
					}
					keyed.CheckErasedForTest(t, keyed.ErasureForTest{Call: c.call, Span: 12 << 10, NeedlesAfter: c.needles,
						BeforeControl: func() {
							if c.name == "New" {
								v.Destroy() // the control call makes another
							}
						}})
				})
			}
			v.Destroy()
		})
	}
}
