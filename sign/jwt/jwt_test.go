package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

// cell puts a copy of b in a cell that lives as long as the test.
func cell(t testing.TB, b []byte) secret.Value { return testsecret.Cell(t, b) }

func hmacKey(t testing.TB, alg Algorithm, id string, secretBytes []byte) *Key {
	t.Helper()
	k, err := HMACKey(alg, id, sign.Static(cell(t, secretBytes)), "jwt.key")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

func verifier(t testing.TB, opts Options, keys ...*Key) *Verifier {
	t.Helper()
	v, err := NewVerifier(opts, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func at(unix int64) func() time.Time { return func() time.Time { return time.Unix(unix, 0) } }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 7515, appendix A.1 (also RFC 7519, section 3.1): an HS256 JWS.
const (
	rfc7515Key   = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
	rfc7515Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func TestRFC7515HS256Example(t *testing.T) {
	k := hmacKey(t, HS256, "", unb64(t, rfc7515Key))
	v := verifier(t, Options{Issuer: "joe", Now: at(1300819379)}, k)
	c, err := v.Verify([]byte(rfc7515Token))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "joe" || c.ExpiresAt.Unix() != 1300819380 || c.Algorithm != HS256 {
		t.Errorf("claims %+v", c)
	}
	var custom struct {
		Root bool `json:"http://example.com/is_root"`
	}
	if err := c.Decode(&custom); err != nil || !custom.Root {
		t.Errorf("custom claim: %v %v", custom, err)
	}
	late := verifier(t, Options{Now: at(1300819380)}, k)
	if _, err := late.Verify([]byte(rfc7515Token)); !errors.Is(err, ErrExpired) {
		t.Errorf("at exp: %v, want ErrExpired", err)
	}
	lenient := verifier(t, Options{Now: at(1300819380 + 59), Leeway: time.Minute}, k)
	if _, err := lenient.Verify([]byte(rfc7515Token)); err != nil {
		t.Errorf("within the leeway: %v", err)
	}
}

// RFC 7519, section 6.1: an unsecured JWT ("alg": "none").
func TestAlgNoneIsRefused(t *testing.T) {
	k := hmacKey(t, HS256, "", unb64(t, rfc7515Key))
	v := verifier(t, Options{Now: at(1300819379)}, k)
	for _, tok := range []string{
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
		forge(`{"alg":"none"}`, `{"exp":1300819380}`, ""),
		forge(`{"alg":"None"}`, `{"exp":1300819380}`, ""),
		forge(`{"alg":"HS256 "}`, `{"exp":1300819380}`, "AAAA"),
		forge(`{"alg":"RS256"}`, `{"exp":1300819380}`, "AAAA"),
	} {
		if _, err := v.Verify([]byte(tok)); !errors.Is(err, ErrAlgorithm) {
			t.Errorf("%s: %v, want ErrAlgorithm", tok[:20], err)
		}
	}
}

func forge(header, claims, sig string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + sig
}

// RFC 8037, appendix A.4: an EdDSA JWS. Its payload is not a claim set,
// so Verify refuses it after the signature checked out.
func TestRFC8037EdDSAExample(t *testing.T) {
	pub := ed25519.PublicKey(unb64(t, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
	k, err := EdDSAPublicKey("", pub)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Options{}, k)
	tok := "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc" +
		".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	_, err = v.Verify([]byte(tok))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "claims") {
		t.Errorf("RFC 8037's example: %v, want a valid signature over a payload that is not a claim set", err)
	}
	bad := tok[:len(tok)-3] + "KAh"
	if _, err := v.Verify([]byte(bad)); !errors.Is(err, ErrSignature) {
		t.Errorf("a changed signature: %v, want ErrSignature", err)
	}
	seed := unb64(t, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	signer, err := sign.NewEd25519PrivateKey(cell(t, seed))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(nil, []byte(tok[:strings.LastIndexByte(tok, '.')]), nil)
	if err != nil || base64.RawURLEncoding.EncodeToString(sig) != tok[strings.LastIndexByte(tok, '.')+1:] {
		t.Errorf("signing RFC 8037's input: %v", err)
	}
}

func TestRoundTrips(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := EdDSAKey("ed", sign.Static(cell(t, priv.Seed())), "jwt.ed25519")
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	edPub, _ := EdDSAPublicKey("ed", priv.Public().(ed25519.PublicKey))
	for _, c := range []struct {
		signer, verifier *Key
	}{
		{hmacKey(t, HS256, "h1", bytes.Repeat([]byte("k"), 32)), nil},
		{hmacKey(t, HS512, "h5", bytes.Repeat([]byte("k"), 64)), nil},
		{ed, nil},
		{ed, edPub},
	} {
		vk := c.verifier
		if vk == nil {
			vk = c.signer
		}
		exp := time.Now().Add(time.Hour).Unix()
		tok, err := c.signer.Sign(map[string]any{
			"iss": "https://auth.example.com/", "sub": "alice", "aud": []string{"api", "web"},
			"exp": exp, "nbf": exp - 7200, "iat": exp - 3600, "jti": "id-1", "scope": "read",
		})
		if err != nil {
			t.Fatal(err)
		}
		v := verifier(t, Options{Issuer: "https://auth.example.com/", Audience: "web"}, vk)
		cl, err := v.Verify([]byte(tok))
		if err != nil {
			t.Fatalf("%s: %v", c.signer.alg, err)
		}
		if cl.Subject != "alice" || cl.ID != "id-1" || len(cl.Audience) != 2 || cl.KeyID != c.signer.id ||
			cl.ExpiresAt.Unix() != exp || cl.NotBefore.Unix() != exp-7200 || cl.IssuedAt.Unix() != exp-3600 {
			t.Errorf("%s: claims %+v", c.signer.alg, cl)
		}
	}
}

func TestClaimsAreChecked(t *testing.T) {
	key := bytes.Repeat([]byte("s"), 32)
	k := hmacKey(t, HS256, "", key)
	now := int64(2_000_000_000)
	tok := func(claims string) []byte {
		in := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return []byte(in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	}
	for _, c := range []struct {
		name   string
		opts   Options
		claims string
		want   error
	}{
		{"valid", Options{}, `{"exp":2000000001}`, nil},
		{"expired", Options{}, `{"exp":2000000000}`, ErrExpired},
		{"expired beyond the leeway", Options{Leeway: 10 * time.Second}, `{"exp":1999999990}`, ErrExpired},
		{"expired within the leeway", Options{Leeway: 10 * time.Second}, `{"exp":1999999991}`, nil},
		{"fractional exp", Options{}, `{"exp":2000000000.5e0}`, ErrExpired},
		{"no exp", Options{}, `{"sub":"x"}`, ErrNoExpiry},
		{"no exp allowed", Options{AllowNoExpiry: true}, `{"sub":"x"}`, nil},
		{"not yet valid", Options{}, `{"exp":2000000100,"nbf":2000000001}`, ErrNotYetValid},
		{"nbf within the leeway", Options{Leeway: time.Second}, `{"exp":2000000100,"nbf":2000000001}`, nil},
		{"wrong issuer", Options{Issuer: "a"}, `{"exp":2000000100,"iss":"b"}`, ErrIssuer},
		{"no issuer", Options{Issuer: "a"}, `{"exp":2000000100}`, ErrIssuer},
		{"issuer with escapes", Options{Issuer: "https://a/"}, `{"exp":2000000100,"iss":"https:\/\/a\u002f"}`, nil},
		{"audience string", Options{Audience: "api"}, `{"exp":2000000100,"aud":"api"}`, nil},
		{"audience array", Options{Audience: "api"}, `{"exp":2000000100,"aud":["web","api"]}`, nil},
		{"wrong audience", Options{Audience: "api"}, `{"exp":2000000100,"aud":["web"]}`, ErrAudience},
		{"no audience", Options{Audience: "api"}, `{"exp":2000000100}`, ErrAudience},
		{"an audience nobody asked for", Options{}, `{"exp":2000000100,"aud":"api"}`, ErrAudience},
		{"exp twice", Options{}, `{"exp":1,"exp":2000000100}`, ErrMalformed},
		{"exp as a string", Options{}, `{"exp":"2000000100"}`, ErrMalformed},
		{"iss as a number", Options{}, `{"exp":2000000100,"iss":1}`, ErrMalformed},
		{"aud as an object", Options{Audience: "a"}, `{"exp":2000000100,"aud":{"a":1}}`, ErrMalformed},
		{"trailing garbage", Options{}, `{"exp":2000000100} x`, ErrMalformed},
		{"an array", Options{}, `[1]`, ErrMalformed},
		{"invalid JSON in a skipped claim", Options{}, `{"exp":2000000100,"x":[1,}`, ErrMalformed},
		{"deep nesting", Options{}, `{"exp":2000000100,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, ErrMalformed},
		{"huge exp", Options{}, `{"exp":1e300}`, ErrMalformed},
	} {
		c.opts.Now = at(now)
		_, err := verifier(t, c.opts, k).Verify(tok(c.claims))
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// The algorithm is pinned to the key: a token signed with HMAC using an
// EdDSA public key's bytes as the secret (the classic confusion) is never
// checked with HMAC, and a kid that names a key of another algorithm is
// refused.
func TestAlgorithmConfusionIsRefused(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	edKey, _ := EdDSAPublicKey("ed", pub)
	hs := hmacKey(t, HS256, "hs", bytes.Repeat([]byte("h"), 32))
	confused := func(kid string) []byte {
		hdr := `{"alg":"HS256"`
		if kid != "" {
			hdr += `,"kid":"` + kid + `"`
		}
		in := base64.RawURLEncoding.EncodeToString([]byte(hdr+"}")) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":9999999999}`))
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(in))
		return []byte(in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	}
	if _, err := verifier(t, Options{}, edKey).Verify(confused("")); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("an HS256 token against an EdDSA key: %v, want ErrAlgorithm", err)
	}
	if _, err := verifier(t, Options{}, edKey).Verify(confused("ed")); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("an HS256 token naming the EdDSA key: %v, want ErrAlgorithm", err)
	}
	if _, err := verifier(t, Options{}, edKey, hs).Verify(confused("")); !errors.Is(err, ErrSignature) {
		t.Errorf("an HS256 token MACed with the public key, HMAC key present: %v, want ErrSignature", err)
	}
}

func TestKeysAreChosenByKid(t *testing.T) {
	old := hmacKey(t, HS256, "2024", bytes.Repeat([]byte("o"), 32))
	cur := hmacKey(t, HS256, "2025", bytes.Repeat([]byte("n"), 32))
	noKid := hmacKey(t, HS256, "", bytes.Repeat([]byte("n"), 32))
	v := verifier(t, Options{AllowNoExpiry: true}, old, cur)
	for _, k := range []*Key{old, cur} {
		tok, _ := k.Sign(map[string]string{"sub": k.id})
		c, err := v.Verify([]byte(tok))
		if err != nil || c.KeyID != k.id {
			t.Errorf("a token of key %s: %v", k.id, err)
		}
	}
	tok, _ := noKid.Sign(map[string]string{"sub": "x"})
	if _, err := v.Verify([]byte(tok)); err != nil {
		t.Errorf("a token without kid, signed by the second key: %v", err)
	}
	other := hmacKey(t, HS256, "2023", bytes.Repeat([]byte("x"), 32))
	tok, _ = other.Sign(map[string]string{"sub": "x"})
	if _, err := v.Verify([]byte(tok)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("an unknown kid: %v, want ErrUnknownKey", err)
	}
	if _, err := NewVerifier(Options{}, old, old); err == nil {
		t.Error("two keys with one kid were accepted")
	}
}

// Keys are read through the source per token: a rotated secret verifies
// from the next token on.
func TestHMACKeysFollowRotation(t *testing.T) {
	a, b := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)
	cur := cell(t, a)
	src := secret.SourceFunc(func(string) secret.Value { return cur })
	k, err := HMACKey(HS256, "", src, "k")
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	tokA, _ := k.Sign(map[string]int{"n": 1})
	cur = cell(t, b)
	if _, err := v.Verify([]byte(tokA)); !errors.Is(err, ErrSignature) {
		t.Errorf("a token of the old secret after the rotation: %v", err)
	}
	tokB, _ := k.Sign(map[string]int{"n": 2})
	if _, err := v.Verify([]byte(tokB)); err != nil {
		t.Errorf("a token of the new secret: %v", err)
	}
}

func TestMalformedTokensAreRefusedWithoutEcho(t *testing.T) {
	k := hmacKey(t, HS256, "", bytes.Repeat([]byte("m"), 32))
	v := verifier(t, Options{MaxSize: 512}, k)
	good, _ := k.Sign(map[string]int64{"exp": 9999999999})
	parts := strings.Split(good, ".")
	for _, c := range []struct {
		name, tok string
		want      error
	}{
		{"empty", "", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", good + ".x", ErrMalformed},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed},
		{"standard base64", parts[0] + "." + "+" + parts[1][1:] + "." + parts[2], ErrMalformed},
		{"non-canonical signature", parts[0] + "." + parts[1] + "." + parts[2][:42] + string(parts[2][42]+1), ErrSignature},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("alg=HS256")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"no alg", forge(`{"typ":"JWT"}`, `{}`, parts[2]), ErrMalformed},
		{"alg twice", forge(`{"alg":"none","alg":"HS256"}`, `{}`, parts[2]), ErrMalformed},
		{"crit", forge(`{"alg":"HS256","crit":["b64"],"b64":false}`, `{}`, parts[2]), ErrCritical},
		{"too large", good + strings.Repeat("A", 512), ErrTooLarge},
		{"short signature", parts[0] + "." + parts[1] + "." + parts[2][:40], ErrSignature},
		{"invalid UTF-8", forge("{\"alg\":\"HS256\",\"kid\":\"\xff\"}", `{}`, parts[2]), ErrMalformed},
	} {
		_, err := v.Verify([]byte(c.tok))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		msg := err.Error()
		for _, p := range strings.Split(c.tok, ".") {
			if len(p) >= 8 && strings.Contains(msg, p[:8]) {
				t.Errorf("%s: the error %q quotes the token", c.name, msg)
			}
		}
	}
}
