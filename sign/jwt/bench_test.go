package jwt

import (
	"bytes"
	"testing"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/testalloc"
)

// A typical access token: issuer, subject, audience, times, an ID and a
// scope.
func typicalClaims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"iss": "https://auth.example.com/", "sub": "user-1234", "aud": "api",
		"exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": "8f14e45f", "scope": "read write",
	}
}

func BenchmarkVerify(b *testing.B) {
	k := hmacKey(b, HS256, "k1", bytes.Repeat([]byte("b"), 32))
	tok, err := k.Sign(typicalClaims())
	if err != nil {
		b.Fatal(err)
	}
	v := verifier(b, Options{Issuer: "https://auth.example.com/", Audience: "api"}, k)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify([]byte(tok)); err != nil {
			b.Fatal(err)
		}
	}
}

// The claims alone allocate nothing but the Claims and their buffer.
func TestVerifyAllocations(t *testing.T) {
	k := hmacKey(t, HS256, "k1", bytes.Repeat([]byte("b"), 32))
	tok, _ := k.Sign(typicalClaims())
	v := verifier(t, Options{Issuer: "https://auth.example.com/", Audience: "api"}, k)
	in := []byte(tok)
	if n := testalloc.PerRun(100, func() { _, _ = v.Verify(in) }); n > 2 {
		t.Errorf("Verify allocates %v times, want at most 2", n)
	}
}

// BenchmarkVerifyTo is the verification package middleware runs for each
// request: a short token (issuer, audience, subject, expiry), the claims
// written into a Claims the caller allocated.
func BenchmarkVerifyTo(b *testing.B) {
	k := hmacKey(b, HS256, "k1", bytes.Repeat([]byte("s"), 32))
	for _, c := range []struct {
		name   string
		claims map[string]any
	}{
		{"short", map[string]any{"iss": "issuer", "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}},
		{"typical", typicalClaims()},
	} {
		tok, err := k.Sign(c.claims)
		if err != nil {
			b.Fatal(err)
		}
		in := []byte(tok)
		iss, _ := c.claims["iss"].(string)
		v := verifier(b, Options{Issuer: iss, Audience: "api"}, k)
		b.Run(c.name, func(b *testing.B) {
			var cl Claims
			b.ReportAllocs()
			for b.Loop() {
				cl = Claims{}
				if err := v.VerifyTo(&cl, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// VerifyTo allocates nothing for a typical token: its decoded parts and
// the strings read from them stay in the Claims, whose size package
// middleware counts on (see inlineSize).
func TestVerifyToAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	if n := unsafe.Sizeof(Claims{}); unsafe.Sizeof(uintptr(0)) == 8 && n != 472 {
		t.Errorf("Claims are %d bytes, want 472 (adjust inlineSize)", n)
	}
	k := hmacKey(t, HS256, "k1", bytes.Repeat([]byte("b"), 32))
	tok, _ := k.Sign(typicalClaims())
	v := verifier(t, Options{Issuer: "https://auth.example.com/", Audience: "api"}, k)
	in := []byte(tok)
	c := new(Claims)
	if n := testalloc.PerRun(100, func() {
		*c = Claims{}
		if err := v.VerifyTo(c, in); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("VerifyTo allocates %v times, want 0", n)
	}
}
