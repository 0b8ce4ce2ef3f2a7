package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
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

// The kid a key writes into its tokens must be JSON: Sign used
// strconv.Quote, whose \x escapes are not, so a key whose ID has a
// control character signed tokens no verifier (its own included) reads.
func TestEveryKeyIDRoundTrips(t *testing.T) {
	for _, id := range []string{"2025-01", `a"b\c`, "tab\there", "nul\x00", "del\x7f", "ü-é", "\u2028", "<&>"} {
		k := hmacKey(t, HS256, id, bytes.Repeat([]byte("i"), 32))
		tok, err := k.Sign(map[string]string{"sub": "x"})
		if err != nil {
			t.Errorf("kid %q: %v", id, err)
			continue
		}
		c, err := verifier(t, Options{AllowNoExpiry: true}, k).Verify([]byte(tok))
		if err != nil || c.KeyID != id {
			t.Errorf("kid %q: its own token: %v (kid %q)", id, err, c.KeyIDOrEmpty())
		}
	}
	if _, err := HMACKey(HS256, "bad\xff", sign.Static(cell(t, bytes.Repeat([]byte("i"), 32))), "k"); !errors.Is(err, ErrKey) {
		t.Errorf("a kid that is not UTF-8: %v, want ErrKey", err)
	}
}

// KeyIDOrEmpty is c.KeyID, or "" for a nil c, for failure messages.
func (c *Claims) KeyIDOrEmpty() string {
	if c == nil {
		return ""
	}
	return c.KeyID
}

// A closed key, or one whose secret rotated away, verifies nothing, with
// or without a kid, and the other keys still work.
func TestARetiredKeyVerifiesNothing(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte("o"), 32), bytes.Repeat([]byte("n"), 32)
	old := hmacKey(t, HS256, "old", oldKey)
	cur := hmacKey(t, HS256, "new", newKey)
	v := verifier(t, Options{AllowNoExpiry: true}, old, cur)
	tokOld, _ := old.Sign(map[string]string{"sub": "x"})
	tokCur, _ := cur.Sign(map[string]string{"sub": "x"})
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	p64 := enc.EncodeToString([]byte(`{"sub":"y"}`))
	bare := hs256(oldKey, h64, p64)
	if _, err := v.Verify(bare); err != nil {
		t.Fatalf("a kid-less token of the old key before it retired: %v", err)
	}
	old.Close()
	for name, tok := range map[string][]byte{"with its kid": []byte(tokOld), "without a kid": bare} {
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("a token of the closed key %s was accepted", name)
		}
	}
	if _, err := v.Verify([]byte(tokCur)); err != nil {
		t.Errorf("the current key after the old one closed: %v", err)
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

// RFC 7518's floor on an HMAC key (32 bytes for HS256) was checked when
// the key was made and never again: a rotation to a 4-byte secret (a
// typo, a truncated file) signed and verified tokens that anyone can
// brute-force. After such a rotation the key must fail closed: no token
// signs or verifies, and the error says why without the secret.
func TestARotationToAShortSecretFailsClosed(t *testing.T) {
	long, short := bytes.Repeat([]byte("l"), 32), []byte("shrt")
	cur := cell(t, long)
	var mu sync.Mutex
	src := secret.SourceFunc(func(string) secret.Value { mu.Lock(); defer mu.Unlock(); return cur })
	k, err := HMACKey(HS256, "", src, "jwt.key")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	mu.Lock()
	cur = cell(t, short)
	mu.Unlock()
	forged := hs256(short, enc.EncodeToString([]byte(`{"alg":"HS256"}`)), enc.EncodeToString([]byte(`{"sub":"admin"}`)))
	_, err = v.Verify(forged)
	if err == nil {
		t.Fatal("a token MACed with a 4-byte secret verified after the rotation to it")
	}
	if !errors.Is(err, sign.ErrShortKey) {
		t.Errorf("after a rotation to a 4-byte secret: %v, want sign.ErrShortKey", err)
	}
	if strings.Contains(err.Error(), string(short)) {
		t.Errorf("the error %q quotes the secret", err)
	}
	if _, err := k.Sign(map[string]string{"sub": "x"}); err == nil {
		t.Error("the key signed with a 4-byte secret after the rotation to it")
	}
	mu.Lock()
	cur = cell(t, bytes.Repeat([]byte("m"), 32))
	mu.Unlock()
	tok, err := k.Sign(map[string]string{"sub": "x"})
	if err != nil {
		t.Fatalf("after a rotation to a long enough secret: %v", err)
	}
	if _, err := v.Verify([]byte(tok)); err != nil {
		t.Errorf("after a rotation to a long enough secret: %v", err)
	}
}

// An EdDSA key reads its private key through its source at each use; a
// rotation may put another kind of key there. Sign must refuse rather
// than hand the token to whatever Signer the cell now holds: an ECDSA key
// signs the token's first 32 bytes as a digest, and the token would carry
// "alg":"EdDSA" over an ECDSA signature.
func TestAnEdDSAKeyRotatedToECDSASignsNothing(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	var mu sync.Mutex
	cur := cell(t, ed.Seed())
	src := secret.SourceFunc(func(string) secret.Value { mu.Lock(); defer mu.Unlock(); return cur })
	k, err := EdDSAKey("", src, "jwt.key")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	mu.Lock()
	cur = cell(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	mu.Unlock()
	tok, err := k.Sign(map[string]string{"sub": "x"})
	if err == nil {
		t.Errorf("an EdDSA key now holding a P-256 key signed a token (%d bytes)", len(tok))
	} else if !errors.Is(err, ErrKey) {
		t.Errorf("signing with an EdDSA key now holding a P-256 key: %v, want ErrKey", err)
	}
	if _, err := v.Verify([]byte(enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString([]byte(`{}`)) + "." + strings.Repeat("A", 86))); !errors.Is(err, ErrKey) {
		t.Errorf("verifying with it: %v, want ErrKey", err)
	}
}

// A zero Key signed tokens with "alg":"" and an empty signature, with no
// error.
func TestAZeroKeySignsNothing(t *testing.T) {
	var k Key
	if tok, err := k.Sign(map[string]string{"sub": "x"}); !errors.Is(err, ErrKey) {
		t.Errorf("a zero Key signed %q (%v), want ErrKey", tok, err)
	}
}

// Verifications racing rotations, destroyed cells and a Close: every
// call returns, accepts only tokens of a secret the source held, and
// nothing crashes or races (run with -race).
func TestVerifyRacingRotationAndClose(t *testing.T) {
	secrets := [][]byte{bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32), bytes.Repeat([]byte("c"), 32)}
	var mu sync.Mutex
	cur := cell(t, secrets[0])
	src := secret.SourceFunc(func(string) secret.Value { mu.Lock(); defer mu.Unlock(); return cur })
	k, err := HMACKey(HS256, "", src, "k")
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Options{AllowNoExpiry: true}, k)
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	p64 := enc.EncodeToString([]byte(`{"sub":"x"}`))
	var toks [][]byte
	for _, s := range secrets {
		toks = append(toks, hs256(s, h64, p64))
	}
	forged := hs256(bytes.Repeat([]byte("z"), 32), h64, p64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			next := cell(t, secrets[i%len(secrets)])
			mu.Lock()
			old := cur
			cur = next
			mu.Unlock()
			old.Destroy()
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := v.Verify(forged); err == nil {
					t.Error("a forged token verified")
					return
				}
				_, _ = v.Verify(toks[i%len(toks)])
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	k.Close()
	close(stop)
	wg.Wait()
	for _, tok := range toks {
		if _, err := v.Verify(tok); !errors.Is(err, sign.ErrClosed) {
			t.Errorf("after Close: %v, want sign.ErrClosed", err)
		}
	}
}

// crypto/ed25519 verifies against any 32 bytes that decode to a point,
// small-order points included. With such a public key, [k]A takes at most
// eight values, so a signature with S = 0 and R one of them verifies for
// about one message in eight: anyone forges tokens. A key of 32 zero
// bytes (an unset array, a placeholder that failed to decode) is one:
// y = 0 is a point of order 4. A key that is not a point, or is of small
// order, must be refused when it is made.
func TestSmallOrderEdDSAPublicKeysAreRefused(t *testing.T) {
	zero := make([]byte, 32)
	identity := append([]byte{1}, make([]byte, 31)...)
	if k, err := EdDSAPublicKey("", zero); err == nil {
		// Show what the key would allow.
		v := verifier(t, Options{AllowNoExpiry: true}, k)
		minusOne := append(bytes.Repeat([]byte{0xff}, 31), 0x7f)
		minusOne[0] = 0xec
		signBit := append(make([]byte, 31), 0x80)
		forged := 0
		for i := range 64 {
			in := enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString([]byte(`{"sub":"admin","n":`+strings.Repeat("1", i+1)+`}`))
			for _, r := range [][]byte{identity, zero, signBit, minusOne} {
				sig := append(append([]byte(nil), r...), make([]byte, 32)...)
				if _, err := v.Verify([]byte(in + "." + enc.EncodeToString(sig))); err == nil {
					forged++
				}
			}
		}
		t.Errorf("a public key of 32 zero bytes was accepted, and %d of 64 tokens were forged with it", forged)
	} else if !errors.Is(err, ErrKey) {
		t.Errorf("a public key of 32 zero bytes: %v, want ErrKey", err)
	}
	notAPoint := append([]byte{2}, make([]byte, 31)...) // y = 2 has no x
	for name, pub := range map[string][]byte{"the identity": identity, "not a point": notAPoint} {
		if _, err := EdDSAPublicKey("", pub); !errors.Is(err, ErrKey) {
			t.Errorf("%s as a public key: %v, want ErrKey", name, err)
		}
	}
	good, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := EdDSAPublicKey("", good); err != nil {
		t.Errorf("a genuine public key: %v", err)
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
