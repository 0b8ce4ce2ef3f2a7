package interop

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
)

// cell puts a copy of b in a cell that lives as long as the test.
func cell(t *testing.T, b []byte) secret.Value { return testsecret.Cell(t, b) }

type keyPair struct {
	name   string
	ours   *jwt.Key
	method gojwt.SigningMethod
	signK  any // golang-jwt's signing key
	verK   any // golang-jwt's verification key
}

func pairs(t *testing.T) []keyPair {
	hs256 := bytes.Repeat([]byte("2"), 32)
	hs512 := bytes.Repeat([]byte("5"), 64)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k256, err := jwt.HMACKey(jwt.HS256, "", sign.Static(cell(t, hs256)), "k")
	if err != nil {
		t.Fatal(err)
	}
	k512, err := jwt.HMACKey(jwt.HS512, "", sign.Static(cell(t, hs512)), "k")
	if err != nil {
		t.Fatal(err)
	}
	ked, err := jwt.EdDSAKey("", sign.Static(cell(t, priv.Seed())), "k")
	if err != nil {
		t.Fatal(err)
	}
	return []keyPair{
		{"HS256", k256, gojwt.SigningMethodHS256, hs256, hs256},
		{"HS512", k512, gojwt.SigningMethodHS512, hs512, hs512},
		{"EdDSA", ked, gojwt.SigningMethodEdDSA, priv, pub},
	}
}

// Tokens golang-jwt makes verify here, with the same claims.
func TestTokensFromGolangJWTVerify(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, p := range pairs(t) {
		tok, err := gojwt.NewWithClaims(p.method, gojwt.MapClaims{
			"iss": "golang-jwt", "sub": "bob", "aud": []string{"api"}, "exp": exp.Unix(),
			"nbf": exp.Add(-2 * time.Hour).Unix(), "jti": "x1", "role": "admin",
		}).SignedString(p.signK)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jwt.NewVerifier(jwt.Options{Issuer: "golang-jwt", Audience: "api"}, p.ours)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify([]byte(tok))
		if err != nil {
			t.Fatalf("%s: a golang-jwt token: %v", p.name, err)
		}
		var custom struct{ Role string }
		if c.Subject != "bob" || c.ID != "x1" || !c.ExpiresAt.Equal(exp) || c.Decode(&custom) != nil || custom.Role != "admin" {
			t.Errorf("%s: claims %+v, %+v", p.name, c, custom)
		}
		// Change a signature character that carries six bits of it (the
		// last ones hold padding bits, and an Ed25519 S often ends in
		// zeros: "AA" there left 1 token in 16 unchanged).
		i := len(tok) - 10
		swap := byte('A')
		if tok[i] == 'A' {
			swap = 'B'
		}
		bad := tok[:i] + string(swap) + tok[i+1:]
		if _, err := v.Verify([]byte(bad)); !errors.Is(err, jwt.ErrSignature) {
			t.Errorf("%s: a tampered golang-jwt token: %v", p.name, err)
		}
	}
}

// Tokens made here verify with golang-jwt.
func TestTokensVerifyWithGolangJWT(t *testing.T) {
	for _, p := range pairs(t) {
		tok, err := p.ours.Sign(map[string]any{"sub": "carol", "exp": time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := gojwt.Parse(tok, func(*gojwt.Token) (any, error) { return p.verK, nil },
			gojwt.WithValidMethods([]string{p.method.Alg()}))
		if err != nil || !parsed.Valid {
			t.Fatalf("%s: golang-jwt refuses our token: %v", p.name, err)
		}
		if sub, _ := parsed.Claims.GetSubject(); sub != "carol" {
			t.Errorf("%s: golang-jwt read the subject %q", p.name, sub)
		}
	}
}

// What golang-jwt can be made to produce and this package must refuse:
// an unsecured token, and an HS256 token keyed with an EdDSA public key.
func TestGolangJWTAttackTokensAreRefused(t *testing.T) {
	ps := pairs(t)
	ed := ps[2]
	claims := gojwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}
	none, err := gojwt.NewWithClaims(gojwt.SigningMethodNone, claims).SignedString(gojwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	confused, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(ed.verK.(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.Options{}, ed.ours, ps[0].ours)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify([]byte(none)); !errors.Is(err, jwt.ErrAlgorithm) {
		t.Errorf("alg none: %v", err)
	}
	if _, err := v.Verify([]byte(confused)); !errors.Is(err, jwt.ErrSignature) {
		t.Errorf("HS256 keyed with the EdDSA public key: %v", err)
	}
	onlyEd, _ := jwt.NewVerifier(jwt.Options{}, ed.ours)
	if _, err := onlyEd.Verify([]byte(confused)); !errors.Is(err, jwt.ErrAlgorithm) {
		t.Errorf("HS256 keyed with the EdDSA public key, EdDSA key only: %v", err)
	}
}
