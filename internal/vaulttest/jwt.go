//go:build unix

package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"
)

// JWTAuth mounts Vault's JWT auth method at "jwt" with a role "app" that
// trusts a fresh P-256 key (audience "vault", tokens of ttl under
// policies), and returns a function that signs a token for a subject, as
// a Kubernetes service-account token is signed. Vault's Kubernetes method
// checks tokens with the cluster's TokenReview API, which does not run
// here; the JWT method takes the same {"role", "jwt"} login and checks
// the signature itself.
func (s *Server) JWTAuth(t testing.TB, ttl string, policies ...string) func(sub string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(policies) == 0 {
		policies = []string{"default"}
	}
	s.API(t, "POST", "sys/auth/jwt", map[string]any{"type": "jwt"})
	s.API(t, "POST", "auth/jwt/config", map[string]any{"jwt_supported_algs": []string{"ES256"},
		"jwt_validation_pubkeys": []string{string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}})
	s.API(t, "POST", "auth/jwt/role/app", map[string]any{"role_type": "jwt", "user_claim": "sub",
		"bound_audiences": []string{"vault"}, "token_policies": policies, "token_ttl": ttl})
	return func(sub string) string {
		enc := base64.RawURLEncoding
		body, _ := json.Marshal(map[string]any{"sub": sub, "aud": "vault",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		msg := enc.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc.EncodeToString(body)
		sum := sha256.Sum256([]byte(msg))
		r, sg, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		sg.FillBytes(sig[32:])
		return msg + "." + enc.EncodeToString(sig)
	}
}
