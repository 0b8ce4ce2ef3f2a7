package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A header is remembered only once a token carrying it verified: a
// forged token, or one with a kid no key has, leaves nothing behind, so
// no one without a key can make a Verifier remember anything.
func TestOnlyVerifiedHeadersAreRemembered(t *testing.T) {
	key := bytes.Repeat([]byte("m"), 32)
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "", key))
	for _, c := range []struct {
		name, header string
		key          []byte
		want         error
	}{
		{"a forged signature", `{"alg":"HS256","x":1}`, bytes.Repeat([]byte("f"), 32), ErrSignature},
		{"an unknown kid", `{"alg":"HS256","kid":"nobody"}`, key, ErrUnknownKey},
		{"an algorithm with no key", `{"alg":"HS512"}`, key, ErrAlgorithm},
	} {
		h64 := enc.EncodeToString([]byte(c.header))
		if _, err := v.Verify(hs256(c.key, h64, enc.EncodeToString([]byte(`{}`)))); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if v.recall([]byte(h64)) != nil {
			t.Errorf("%s: its header is remembered", c.name)
		}
	}
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256","x":1}`))
	if _, err := v.Verify(hs256(key, h64, enc.EncodeToString([]byte(`{}`)))); err != nil {
		t.Fatal(err)
	}
	if v.recall([]byte(h64)) == nil {
		t.Error("a verified token's header is not remembered")
	}
	long := enc.EncodeToString([]byte(`{"alg":"HS256","x":"` + strings.Repeat("l", maxMemo) + `"}`))
	if _, err := v.Verify(hs256(key, long, enc.EncodeToString([]byte(`{}`)))); err != nil {
		t.Fatal(err)
	}
	if v.recall([]byte(long)) != nil {
		t.Error("a header over maxMemo is remembered")
	}
}

// A remembered header reads as it did the first time: the same claims,
// key ID and algorithm, and the same refusals for what follows it (a
// remembered kid still picks its key alone).
func TestARememberedHeaderReadsTheSame(t *testing.T) {
	a, b := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "ka", a), hmacKey(t, HS256, "kb", b))
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"k\u0061"}`))
	p64 := enc.EncodeToString([]byte(`{"sub":"s","iss":"i"}`))
	first, err := v.Verify(hs256(a, h64, p64))
	if err != nil {
		t.Fatal(err)
	}
	if v.recall([]byte(h64)) == nil {
		t.Fatal("not remembered")
	}
	again, err := v.Verify(hs256(a, h64, p64))
	if err != nil {
		t.Fatal(err)
	}
	if again.KeyID != "ka" || again.KeyID != first.KeyID || again.Algorithm != first.Algorithm ||
		again.Subject != first.Subject || again.Issuer != first.Issuer || !bytes.Equal(again.Payload(), first.Payload()) {
		t.Errorf("again: kid %q, alg %q, sub %q, iss %q, claims %s; first: %q %q %q %q %s", again.KeyID, again.Algorithm,
			again.Subject, again.Issuer, again.Payload(), first.KeyID, first.Algorithm, first.Subject, first.Issuer, first.Payload())
	}
	// The kid names key a: a token signed with b under the same header
	// is refused, remembered or not.
	if _, err := v.Verify(hs256(b, h64, p64)); !errors.Is(err, ErrSignature) {
		t.Errorf("signed with the other key: %v, want ErrSignature", err)
	}
	if _, err := v.Verify(hs256(a, h64, enc.EncodeToString([]byte(`{"sub":1}`)))); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad claims after a remembered header: %v, want ErrMalformed", err)
	}
}

// Tokens of two keys and two headers verified at once, under -race: each
// key remembers its own header, and every token verifies throughout.
func TestHeadersAreRememberedConcurrently(t *testing.T) {
	a, b := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "ka", a), hmacKey(t, HS256, "", b))
	p64 := enc.EncodeToString([]byte(`{"sub":"s"}`))
	tokens := [][]byte{
		hs256(a, enc.EncodeToString([]byte(`{"alg":"HS256","kid":"ka"}`)), p64),
		hs256(b, enc.EncodeToString([]byte(`{"alg":"HS256"}`)), p64),
		hs256(b, enc.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`)), p64),
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if _, err := v.Verify(tokens[(g+i)%len(tokens)]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Keys of three algorithms, each with its header remembered, verified at
// once under -race, each token followed by a forgery that carries a
// remembered header: another key's signature under the same kid, an
// algorithm the kid's key is not pinned to, a kid of another algorithm's
// key. Every forgery is refused, and every genuine token reads its own
// subject (no claims of another verification in flight).
func TestRememberedHeadersKeepKeysApart(t *testing.T) {
	a, b := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 64)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := EdDSAPublicKey("e", pub)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Options{AllowNoExpiry: true}, hmacKey(t, HS256, "a", a), hmacKey(t, HS512, "b", b), ed)
	p64 := func(sub string) string { return enc.EncodeToString([]byte(`{"sub":"` + sub + `"}`)) }
	h64 := func(h string) string { return enc.EncodeToString([]byte(h)) }
	hs512 := func(key []byte, h64, p64 string) []byte {
		m := hmac.New(sha512.New, key)
		m.Write([]byte(h64 + "." + p64))
		return []byte(h64 + "." + p64 + "." + enc.EncodeToString(m.Sum(nil)))
	}
	eddsa := func(h64, p64 string) []byte {
		in := h64 + "." + p64
		return []byte(in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in))))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				sub := fmt.Sprintf("s%d-%d", g, i)
				p := p64(sub)
				var good, forged []byte
				switch (g + i) % 4 {
				case 0:
					good = hs256(a, h64(`{"alg":"HS256","kid":"a"}`), p)
					forged = hs256(b[:32], h64(`{"alg":"HS256","kid":"a"}`), p)
				case 1:
					good = hs512(b, h64(`{"alg":"HS512","kid":"b"}`), p)
					forged = hs256(a, h64(`{"alg":"HS256","kid":"b"}`), p)
				case 2:
					good = eddsa(h64(`{"alg":"EdDSA","kid":"e"}`), p)
					forged = hs256(a, h64(`{"alg":"EdDSA","kid":"e"}`), p)
				case 3:
					good = hs256(a, h64(`{"alg":"HS256"}`), p)
					forged = hs256(a, h64(`{"alg":"HS256","kid":"e"}`), p)
				}
				c, err := v.Verify(good)
				if err != nil || c.Subject != sub {
					t.Errorf("case %d: %v", (g+i)%4, err)
					return
				}
				if _, err := v.Verify(forged); err == nil {
					t.Errorf("case %d: a forgery with a remembered header verified", (g+i)%4)
					return
				}
			}
		}()
	}
	wg.Wait()
}
