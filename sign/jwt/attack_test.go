package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/sign"
)

// An attacker's review: each test is an attempt to get a token accepted
// that should not be, or to make the verifier do work or leak before it
// checks the signature. Those that succeeded are fixed; the rest pin the
// behaviour that held.

var enc = base64.RawURLEncoding

// hs256 signs the exact bytes of a header and a payload, each already in
// their base64url form, as a key holder would: what the attacker cannot
// do, and what a test of the parser's strictness needs.
func hs256(key []byte, h64, p64 string) []byte {
	in := h64 + "." + p64
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return []byte(in + "." + enc.EncodeToString(m.Sum(nil)))
}

// Go's base64 decoder skips CR and LF even in strict mode, so a header or
// payload part with a line break in it decoded to the same JSON. The
// signature covers the raw bytes, so no one without the key can make
// such a token from a valid one; but the package promises that anything
// that is not three base64url parts is refused, and two spellings of one
// token defeat replay caches keyed on its text.
func TestLineBreaksInsideAPartAreRefused(t *testing.T) {
	key := bytes.Repeat([]byte("k"), 32)
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "", key))
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256","x":1}`)) // 28 characters: a multiple of 4
	p64 := enc.EncodeToString([]byte(`{"sub":"alice","n":12}`))
	if _, err := v.Verify(hs256(key, h64, p64)); err != nil {
		t.Fatalf("the token without line breaks: %v", err)
	}
	for _, c := range []struct{ name, h, p string }{
		{"a LF in the header", h64[:8] + "\n" + h64[8:], p64},
		{"a CR LF in the header", h64[:8] + "\r\n" + h64[8:], p64},
		{"a LF at the end of the payload", h64, p64 + "\n"},
		{"a LF in the payload", h64, p64[:4] + "\n" + p64[4:]},
	} {
		if _, err := v.Verify(hs256(key, c.h, c.p)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s, correctly MACed: %v, want ErrMalformed", c.name, err)
		}
	}
}

// Ed25519 signatures are malleable in S unless S < L is enforced, and in
// their encoding unless the base64url's spare bits must be zero.
func TestEdDSASignaturesAreNotMalleable(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := EdDSAPublicKey("", pub)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	in := enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString([]byte(`{"sub":"a"}`))
	sig := ed25519.Sign(priv, []byte(in))
	if _, err := v.Verify([]byte(in + "." + enc.EncodeToString(sig))); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
	// S + L: the same point equation, a different encoding of S.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).SetBytes(reverse(sig[32:]))
	s.Add(s, l)
	high := append(append([]byte(nil), sig[:32]...), reverse(s.FillBytes(make([]byte, 32)))...)
	sig64 := enc.EncodeToString(sig)
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig64[85])
	spare := string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	if last&1 == 1 {
		spare = string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last&^1|2])
	}
	for _, c := range []struct{ name, sig string }{
		{"S + L", enc.EncodeToString(high)},
		{"non-zero spare bits", sig64[:85] + spare},
		{"padding", sig64 + "=="},
		{"standard alphabet", base64.StdEncoding.EncodeToString(sig)},
		{"a LF inside", sig64[:40] + "\n" + sig64[40:85]},
		{"a trailing LF", sig64 + "\n"},
		{"one byte short", enc.EncodeToString(sig[:63])},
		{"one byte long", enc.EncodeToString(append(append([]byte(nil), sig...), 0))},
		{"empty", ""},
	} {
		if _, err := v.Verify([]byte(in + "." + c.sig)); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrSignature", c.name, err)
		}
	}
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return r
}

// Header tricks: the algorithm, crit and kid spelled so that a lax reader
// sees another header than a strict one.
func TestHeaderTricksAreRefused(t *testing.T) {
	key := bytes.Repeat([]byte("h"), 32)
	k := hmacKey(t, HS256, "a", key)
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	p64 := enc.EncodeToString([]byte(`{"sub":"x"}`))
	for _, c := range []struct {
		name, header string
		want         error
	}{
		{"alg none, any case", `{"alg":"None"}`, ErrAlgorithm},
		{"alg with an escaped name, twice", `{"alg":"HS256","\u0061lg":"none"}`, ErrMalformed},
		{"crit with an escaped name", `{"alg":"HS256","\u0063rit":["exp"]}`, ErrCritical},
		{"crit empty", `{"alg":"HS256","crit":[]}`, ErrCritical},
		{"alg not a string", `{"alg":["HS256"]}`, ErrMalformed},
		{"alg with a NUL", `{"alg":"HS256\u0000"}`, ErrAlgorithm},
		{"kid not a string", `{"alg":"HS256","kid":1}`, ErrMalformed},
		{"kid of no key", `{"alg":"HS256","kid":"b"}`, ErrUnknownKey},
		{"kid empty, no key without one", `{"alg":"HS256","kid":""}`, ErrUnknownKey},
		{"header an array", `["alg","HS256"]`, ErrMalformed},
		{"header with a BOM", "\ufeff{\"alg\":\"HS256\"}", ErrMalformed},
		{"header deeply nested", `{"alg":"HS256","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, ErrMalformed},
	} {
		_, err := v.Verify(hs256(key, enc.EncodeToString([]byte(c.header)), p64))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Escapes that decode to the right names are the same header.
	if _, err := v.Verify(hs256(key, enc.EncodeToString([]byte(`{"\u0061lg":"HS\u0032\u00356","kid":"\u0061"}`)), p64)); err != nil {
		t.Errorf("a header spelled with escapes: %v", err)
	}
}

// Claims spelled so that the verifier and encoding/json (which decodes
// custom claims with Claims.Decode, and which most other libraries use)
// would read different values.
func TestClaimTricksAreRefused(t *testing.T) {
	key := bytes.Repeat([]byte("c"), 32)
	k := hmacKey(t, HS256, "", key)
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	now := int64(2_000_000_000)
	for _, c := range []struct {
		name   string
		opts   Options
		claims string
		want   error
	}{
		{"exp twice, once escaped", Options{}, `{"exp":1,"\u0065xp":2000000100}`, ErrMalformed},
		{"aud twice, once escaped", Options{Audience: "api"}, `{"exp":2000000100,"aud":"api","\u0061ud":"web"}`, ErrMalformed},
		{"an escaped aud, verifier without audience", Options{}, `{"exp":2000000100,"\u0061ud":"web"}`, ErrAudience},
		{"exp, and a name that is exp with a NUL after it", Options{}, `{"exp":1,"exp\u0000":2000000100}`, ErrExpired},
		{"aud as a name that is aud with NULs after it", Options{Audience: "api"}, `{"exp":2000000100,"aud\u0000\u0000":"api"}`, ErrAudience},
		{"a claim with an escape, the next one plain", Options{Issuer: "a\"b"}, `{"iss":"a\"b","sub":"plain","exp":2000000100}`, nil},
		{"aud null", Options{}, `{"exp":2000000100,"aud":null}`, ErrMalformed},
		{"aud an empty array, verifier with an audience", Options{Audience: "api"}, `{"exp":2000000100,"aud":[]}`, ErrAudience},
		{"aud an empty array, verifier without", Options{}, `{"exp":2000000100,"aud":[]}`, ErrAudience},
		{"aud an array with a number", Options{Audience: "api"}, `{"exp":2000000100,"aud":["api",1]}`, ErrMalformed},
		{"aud a prefix", Options{Audience: "api"}, `{"exp":2000000100,"aud":"api2"}`, ErrAudience},
		{"exp null", Options{}, `{"exp":null}`, ErrMalformed},
		{"exp true", Options{}, `{"exp":true}`, ErrMalformed},
		{"exp with a leading zero", Options{}, `{"exp":02000000100}`, ErrMalformed},
		{"exp with a plus", Options{}, `{"exp":+2000000100}`, ErrMalformed},
		{"exp hexadecimal", Options{}, `{"exp":0x77359464}`, ErrMalformed},
		{"exp NaN", Options{}, `{"exp":NaN}`, ErrMalformed},
		{"exp Infinity", Options{}, `{"exp":Infinity}`, ErrMalformed},
		{"exp 1e19 (over int64)", Options{}, `{"exp":1e19}`, ErrMalformed},
		{"exp with an exponent", Options{}, `{"exp":2.0000001e9}`, nil},
		{"exp negative", Options{}, `{"exp":-1}`, ErrExpired},
		{"exp a fraction below zero", Options{AllowNoExpiry: true}, `{"exp":-0.5}`, ErrExpired},
		{"exp 19 digits", Options{}, `{"exp":2000000000000000000}`, nil},
		{"nbf half a second ahead", Options{}, `{"exp":2000000100,"nbf":2000000000.5}`, ErrNotYetValid},
		{"nbf exactly now", Options{}, `{"exp":2000000100,"nbf":2000000000}`, nil},
		{"exp half a second ahead (rounded down, toward refusal)", Options{}, `{"exp":2000000000.5}`, ErrExpired},
		{"exp a hundredth behind", Options{}, `{"exp":1999999999.99}`, ErrExpired},
		{"iat far in the future (not checked, as RFC 7519 allows)", Options{}, `{"exp":2000000100,"iat":9999999999}`, nil},
		{"iss with a NUL", Options{Issuer: "a"}, `{"exp":2000000100,"iss":"a\u0000"}`, ErrIssuer},
		{"a lone surrogate in a claim", Options{}, `{"exp":2000000100,"sub":"\ud800"}`, nil},
	} {
		c.opts.Now = func() time.Time { return time.Unix(now, 0) }
		_, err := verifier(t, c.opts, k).Verify(hs256(key, h64, enc.EncodeToString([]byte(c.claims))))
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// A token far over the limit is refused before anything is decoded: the
// attacker's megabyte costs no allocation of its size.
func TestAHugeTokenCostsNothing(t *testing.T) {
	k := hmacKey(t, HS256, "", bytes.Repeat([]byte("z"), 32))
	v := verifier(t, Options{}, k)
	huge := bytes.Repeat([]byte("A"), 16<<20)
	huge[1000], huge[2000] = '.', '.'
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := v.Verify(huge); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("a 16 MiB token: %v, want ErrTooLarge", err)
		}
	}
	runtime.ReadMemStats(&after)
	// The runtime allocates a little on its own meanwhile: the bound is
	// far from the token's size, not zero.
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("10 refusals of a 16 MiB token allocated %d bytes", n)
	}
	// Just under the limit: the decoded parts are bounded by it.
	v = verifier(t, Options{MaxSize: 64 << 10}, k)
	big := bytes.Repeat([]byte("A"), 64<<10)
	big[30<<10], big[60<<10] = '.', '.'
	runtime.ReadMemStats(&before)
	_, err := v.Verify(big)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("a 64 KiB token of As: %v, want ErrMalformed", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 3*64<<10 {
		t.Errorf("a 64 KiB token allocated %d bytes", n)
	}
}

// sameBase64 decodes the token's signature rather than encode the
// expected MAC (whose encoding would index the alphabet table with the
// MAC's bits). It must accept exactly the canonical base64url of the
// MAC: not the other spellings of the same bytes, not a line break, not
// a length off by one.
func TestSameBase64AcceptsOnlyTheCanonicalEncoding(t *testing.T) {
	for _, size := range []int{32, 64} {
		for range 200 {
			mac := make([]byte, size)
			_, _ = rand.Read(mac)
			sig := enc.EncodeToString(mac)
			var scratch [sign.CheckScratch]byte
			if !sameBase64(mac, scratch[:], []byte(sig)) {
				t.Fatalf("%d bytes: the canonical encoding is refused", size)
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, sig[len(sig)-1])
			for i := range 64 {
				if i == last {
					continue
				}
				other := sig[:len(sig)-1] + string(alphabet[i])
				if sameBase64(mac, scratch[:], []byte(other)) {
					t.Fatalf("%d bytes: another spelling of the last symbol (%q for %q) is accepted", size, alphabet[i], alphabet[last])
				}
			}
			flipped := []byte(sig)
			flipped[len(sig)/2] ^= 1
			for name, s := range map[string]string{
				"a line break inside":   sig[:10] + "\n" + sig[10:len(sig)-1],
				"a trailing line break": sig + "\n",
				"one symbol short":      sig[:len(sig)-1],
				"one symbol long":       sig + "A",
				"padding":               enc.WithPadding('=').EncodeToString(mac),
				"standard alphabet":     base64.StdEncoding.WithPadding(base64.NoPadding).EncodeToString(mac),
				"a flipped bit":         string(flipped),
			} {
				if s != sig && sameBase64(mac, scratch[:], []byte(s)) {
					t.Errorf("%d bytes: %s is accepted", size, name)
				}
			}
		}
	}
}

// Keys the token brings with it (CVE-2018-0114's embedded "jwk", a "jku"
// or "x5u" to fetch one from) are never used: the verifier's keys are
// the only keys.
func TestKeysInTheHeaderAreIgnored(t *testing.T) {
	ours := bytes.Repeat([]byte("o"), 32)
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "", ours))
	attacker := bytes.Repeat([]byte("a"), 32)
	p64 := enc.EncodeToString([]byte(`{"sub":"admin"}`))
	for _, h := range []string{
		`{"alg":"HS256","jwk":{"kty":"oct","k":"` + enc.EncodeToString(attacker) + `"}}`,
		`{"alg":"HS256","jku":"http://127.0.0.1:1/keys"}`,
		`{"alg":"HS256","x5u":"http://127.0.0.1:1/cert"}`,
	} {
		if _, err := v.Verify(hs256(attacker, enc.EncodeToString([]byte(h)), p64)); !errors.Is(err, ErrSignature) {
			t.Errorf("%s, MACed with the attacker's key: %v, want ErrSignature", h, err)
		}
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ours2, _, _ := ed25519.GenerateKey(rand.Reader)
	k, err := EdDSAPublicKey("", ours2)
	if err != nil {
		t.Fatal(err)
	}
	in := enc.EncodeToString([]byte(`{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+enc.EncodeToString(pub)+`"}}`)) + "." + p64
	tok := in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
	if _, err := verifier(t, Options{AllowNoExpiry: true}, k).Verify([]byte(tok)); !errors.Is(err, ErrSignature) {
		t.Errorf("an EdDSA token carrying its own jwk: %v, want ErrSignature", err)
	}
}

// Header and payload parts of any bytes, MACed with the verifier's key
// as a key holder would: Verify never panics, and accepts only parts
// that are canonical base64url (what it decodes encodes back to them
// byte for byte) of valid JSON. The line breaks the decoder skips were
// found this way by hand; this keeps looking.
func FuzzVerify(f *testing.F) {
	key := bytes.Repeat([]byte("f"), 32)
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	f.Add(h64, enc.EncodeToString([]byte(`{"sub":"x"}`)))
	f.Add(h64[:8]+"\n"+h64[8:], enc.EncodeToString([]byte(`{"sub":"x"}`)))
	f.Add(h64, enc.EncodeToString([]byte(`{"exp":1e400}`)))
	f.Add(h64+"=", "e30")
	k, err := HMACKey(HS256, "", sign.Static(cell(f, key)), "k")
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(Options{AllowNoExpiry: true, MaxSize: 2048}, k)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h, p string) {
		if _, err := v.Verify(hs256(key, h, p)); err != nil {
			return
		}
		for _, part := range []string{h, p} {
			b, err := enc.Strict().DecodeString(part)
			if err != nil || enc.EncodeToString(b) != part || !json.Valid(b) {
				t.Fatalf("accepted the part %q, which is not the canonical base64url of JSON", part)
			}
		}
	})
}
