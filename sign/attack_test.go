package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// An attacker's review of key parsing: a damaged key file (a flipped
// byte, a truncated length) must give an error that says nothing about
// the key. The check is differential: two DER keys that differ only in
// their secret bytes (the second P-256 key carries the first one's
// public point, so that nothing public differs), damaged alike, must give
// the same error text. An error that quotes, or is computed from, secret
// bytes (an OID or a length read from inside the key) would differ.
func TestDamagedKeysGiveErrorsThatDoNotDependOnTheKey(t *testing.T) {
	pkcs8 := func(k crypto.Signer) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pairs := map[string]func() (a, b []byte){
		"Ed25519": func() ([]byte, []byte) {
			_, ka, _ := ed25519.GenerateKey(rand.Reader)
			_, kb, _ := ed25519.GenerateKey(rand.Reader)
			return pkcs8(ka), pkcs8(kb)
		},
		"P-256": func() ([]byte, []byte) {
			ka, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			kb, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			a := pkcs8(ka)
			i := bytes.Index(a, ka.D.FillBytes(make([]byte, 32)))
			if i < 0 {
				t.Fatal("the scalar is not in the DER")
			}
			b := bytes.Clone(a)
			kb.D.FillBytes(b[i : i+32])
			return a, b
		},
	}
	// count applies the same 4000 damages to both keys and counts the
	// refusals whose text differs.
	count := func(a, b []byte, parse func([]byte) string) (refused, differ int, example [2]string) {
		r := mrand.New(mrand.NewPCG(1, 2))
		for range 4000 {
			ma, mb := bytes.Clone(a), bytes.Clone(b)
			for range 1 + r.IntN(3) {
				i, v := r.IntN(len(ma)), byte(r.IntN(256))
				ma[i], mb[i] = v, v
			}
			if r.IntN(4) == 0 { // a truncation too
				n := r.IntN(len(ma))
				ma, mb = ma[:n], mb[:n]
			}
			ea, eb := parse(ma), parse(mb)
			if ea != "" {
				refused++
			}
			if ea != eb && ea != "" && eb != "" {
				differ++
				example = [2]string{ea, eb}
			}
		}
		return refused, differ, example
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			a, b := pair()
			refused, differ, ex := count(a, b, func(der []byte) string { return parseErr(t, der) })
			t.Logf("4000 damaged keys, %d refused, %d errors that depend on the key", refused, differ)
			if differ > 0 {
				t.Errorf("%d errors depend on the key, as:\n  %s\n  %s", differ, ex[0], ex[1])
			}
			// The control: errors that quote the key are seen. (Quoted
			// before parsing: secret.New wipes what it copies.)
			_, differ, _ = count(a, b, func(der []byte) string {
				quoted := fmt.Sprintf("%x", der)
				if e := parseErr(t, der); e != "" {
					return e + " " + quoted
				}
				return ""
			})
			if differ == 0 {
				t.Error("errors that quote the key's bytes pass the check: it cannot see")
			}
		})
	}
}

func parseErr(t *testing.T, der []byte) string {
	v, err := secret.New(der)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	k, err := ParsePrivateKey(v)
	if err != nil {
		return err.Error()
	}
	k.Destroy()
	return ""
}

// crypto/ecdsa's deterministic signing (rand nil) panics on a hash it
// cannot make: crypto.Hash(0), an unknown one, one not linked in. The
// panic came from inside EraseDeep, skipping the wipe of the stack and
// of the scalar crypto/ecdsa caches. A caller's opts must get an error.
func TestECDSAWithAnUnusableHashIsAnErrorNotAPanic(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	k, err := ParsePrivateKey(newCell(t, der))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Destroy()
	for _, h := range []crypto.Hash{0, crypto.MD4, crypto.Hash(99)} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("Sign(nil, digest, %v) panicked: %v", h, p)
				}
			}()
			if _, err := k.Sign(nil, make([]byte, 16), h); err == nil {
				t.Errorf("Sign(nil, digest, %v) signed", h)
			}
		}()
	}
	if _, err := k.Sign(nil, make([]byte, 32), crypto.SHA256); err != nil {
		t.Errorf("a deterministic SHA-256 signature: %v", err)
	}
}
