package jwt

import (
	"bytes"
	"testing"
	"time"
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
	if n := testing.AllocsPerRun(100, func() { _, _ = v.Verify(in) }); n > 2 {
		t.Errorf("Verify allocates %v times, want at most 2", n)
	}
}
