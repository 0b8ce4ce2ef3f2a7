package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

// An attacker's review of keys: what a key writes, and what it accepts
// after a rotation, a Close or a bad configuration. attack_test.go has
// the attacks on the token itself.

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
			t.Errorf("kid %q: its own token: %v (kid %q)", id, err, keyIDOf(c))
		}
	}
	if _, err := HMACKey(HS256, "bad\xff", sign.Static(cell(t, bytes.Repeat([]byte("i"), 32))), "k"); !errors.Is(err, ErrKey) {
		t.Errorf("a kid that is not UTF-8: %v, want ErrKey", err)
	}
}

// keyIDOf is c.KeyID, or "" for a nil c, for failure messages.
func keyIDOf(c *Claims) string {
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
