package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/sign"
)

// An EdDSA check runs in EraseDeep: it must fit its wipe.
func TestEdDSAVerificationFitsTheWipe(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	input := []byte("header.payload")
	sig := b64.EncodeToString(ed25519.Sign(priv, input))
	f := func() { _ = verifyEd25519(pub, input, []byte(sig)) }
	f()
	var depth int
	func() {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		keyed.GrowStackForTest(64 << 10)
		depth = keyed.StackDepthForTest(f, 48<<10)
	}()
	if limit := keyed.DeepWipeDepthForTest() - 256; depth == 0 || depth > limit {
		t.Errorf("verifying an Ed25519 signature uses %d bytes of stack; EraseDeep wipes %d", depth, limit)
	}
}

// After Verify, the dead stack and the registers hold neither the
// signature (raw or base64) nor, for HMAC, the expected one.
func TestNoSignatureOutlivesVerify(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := EdDSAKey("", sign.Static(cell(t, priv.Seed())), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	hs := hmacKey(t, HS512, "", bytes.Repeat([]byte("z"), 64))
	for _, k := range []*Key{hs, ed} {
		tok, err := k.Sign(map[string]int64{"exp": 9999999999})
		if err != nil {
			t.Fatal(err)
		}
		v := verifier(t, Options{}, k)
		s64 := tok[strings.LastIndexByte(tok, '.')+1:]
		nd := keyed.NeedlesForTest{}
		nd.Add("signature", unb64(t, s64))
		nd.Add("signature (base64url)", []byte(s64))
		token := cell(t, []byte(tok))
		verify := func() {
			_ = token.Use(func(b []byte) error {
				_, err := v.Verify(b)
				return err
			})
		}
		t.Run(string(k.alg), func(t *testing.T) {
			// An HMAC check decodes the token's signature into the
			// digest's scratch (heap, in a cell's digest) and compares it
			// there, and the expected MAC is read from the saved hash
			// state rather than from Sum's copy of the digest on the
			// stack: nothing of either reaches the stack or (SHA-512
			// keeps no state in vector registers) the registers even
			// without the wipes, so the control may find nothing.
			keyed.CheckErasedForTest(t, keyed.ErasureForTest{Call: verify, Span: keyed.DeepWipeDepthForTest() + 8<<10, Needles: nd,
				ControlMayMiss: k.alg != EdDSA})
		})
	}
}

// An HMAC check runs the match verify passes to sign.HMAC.Check (a
// base64url decoding and a comparison) inside the HMAC's erasure: with it,
// the computation must stay within what that erasure wipes, for both
// hashes and both forms of saved state. The closure here is verify's.
func TestHMACCheckFitsTheWipe(t *testing.T) {
	depths, covered := keyed.CheckDepthForTest(func(size int) func(mac, scratch []byte) bool {
		sig := []byte(b64.EncodeToString(make([]byte, size)))
		return func(mac, scratch []byte) bool { return sameBase64(mac, scratch, sig) }
	})
	if len(depths) != 4 {
		t.Fatalf("measured %d computations, want 4", len(depths))
	}
	for name, depth := range depths {
		t.Logf("%s: %d bytes of stack", name, depth)
		if depth == 0 || depth > covered {
			t.Errorf("an HMAC check (%s) with verify's match uses %d bytes of stack; the wipe covers %d", name, depth, covered)
		}
	}
}
