package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

func pemBlock(label string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der})
}

func parseCell(t *testing.T, b []byte) (PrivateKey, error) {
	t.Helper()
	return ParsePrivateKey(newCell(t, b))
}

func TestEd25519KeysSignAsCryptoEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert := pemBlock("CERTIFICATE", []byte("not parsed"))
	forms := map[string][]byte{
		"PKCS #8 PEM":             pemBlock("PRIVATE KEY", der),
		"PKCS #8 DER":             der,
		"PEM after a certificate": append(cert, pemBlock("PRIVATE KEY", der)...),
		"PEM with CRLF":           bytes.ReplaceAll(pemBlock("PRIVATE KEY", der), []byte("\n"), []byte("\r\n")),
	}
	msg := []byte("the message")
	ph := sha512.Sum512(msg)
	for name, b := range forms {
		key, err := parseCell(t, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ek, ok := key.(*Ed25519PrivateKey)
		if !ok {
			t.Fatalf("%s: got a %T", name, key)
		}
		if !pub.Equal(ek.Public()) {
			t.Fatalf("%s: wrong public key", name)
		}
		for _, c := range []struct {
			msg  []byte
			opts crypto.SignerOpts
		}{
			{msg, crypto.Hash(0)},
			{msg, &ed25519.Options{Context: "ctx"}},
			{ph[:], crypto.SHA512},
			{ph[:], &ed25519.Options{Hash: crypto.SHA512, Context: "ctx"}},
		} {
			want, err := priv.Sign(nil, c.msg, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := key.Sign(nil, c.msg, c.opts)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s, %v: differs from crypto/ed25519 (%v)", name, c.opts, err)
			}
		}
		if _, err := key.Sign(nil, msg, crypto.SHA256); err == nil {
			t.Errorf("%s: signed with SHA-256 options", name)
		}
		key.Destroy()
		if _, err := key.Sign(nil, msg, crypto.Hash(0)); !errors.Is(err, secret.ErrDestroyed) {
			t.Errorf("%s: signing after Destroy: %v", name, err)
		}
	}
}

func TestEd25519FromASeedCell(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	for _, b := range [][]byte{priv.Seed(), priv} {
		k, err := NewEd25519PrivateKey(newCell(t, b))
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(k.Public()) {
			t.Fatal("wrong public key")
		}
		k.Destroy()
	}
	bad := bytes.Clone(priv)
	bad[40] ^= 1
	if _, err := NewEd25519PrivateKey(newCell(t, bad)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("a private key with the wrong public half: %v", err)
	}
	if _, err := NewEd25519PrivateKey(newCell(t, make([]byte, 31))); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("a 31-byte seed: %v", err)
	}
}

// RFC 8037, appendix A.1 and A.4: the Ed25519 key and the signature of
// its example JWS.
func TestEd25519RFC8037Example(t *testing.T) {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	k, err := NewEd25519PrivateKey(newCell(t, seed))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Destroy()
	sig, err := k.Sign(nil, []byte("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	want := "860c98d2297f3060a33f42739672d61b53cf3adefed3d3c672f320dc021b411e9d59b8628dc351e248b88b29468e0e41855b0fb7d83bb15be902bfccb8cd0a02"
	if hex.EncodeToString(sig) != want {
		t.Errorf("signature %x, want RFC 8037's", sig)
	}
}

func TestECDSAKeysSignAsCryptoECDSA(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("to be signed"))
	for name, b := range map[string][]byte{
		"PKCS #8 PEM": pemBlock("PRIVATE KEY", p8),
		"PKCS #8 DER": p8,
		"SEC 1 PEM":   pemBlock("EC PRIVATE KEY", sec1),
		"SEC 1 DER":   sec1,
	} {
		key, err := parseCell(t, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := key.(*ECDSAPrivateKey); !ok {
			t.Fatalf("%s: got a %T", name, key)
		}
		if !priv.PublicKey.Equal(key.Public()) {
			t.Fatalf("%s: wrong public key", name)
		}
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], sig) {
			t.Fatalf("%s: the signature does not verify (%v)", name, err)
		}
		// RFC 6979 signatures are deterministic: the same as crypto/ecdsa's.
		want, err := priv.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		got, err := key.Sign(nil, digest[:], crypto.SHA256)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: the deterministic signature differs from crypto/ecdsa's (%v)", name, err)
		}
		// And again: the per-signature key crypto/ecdsa cached was wiped,
		// not reused.
		if again, _ := key.Sign(nil, digest[:], crypto.SHA256); !bytes.Equal(again, want) {
			t.Fatalf("%s: a second deterministic signature differs", name)
		}
		key.Destroy()
	}
}

// A short scalar (some encoders drop leading zeros) is padded.
func TestECDSAShortScalar(t *testing.T) {
	for {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if priv.D.BitLen() > 248 {
			continue
		}
		d := priv.D.Bytes() // 31 bytes or fewer
		sec1 := append([]byte{0x30, byte(5 + len(d)), 0x02, 0x01, 0x01, 0x04, byte(len(d))}, d...)
		sec1 = append(sec1[:1], append([]byte{byte(len(sec1) - 2 + 12)}, sec1[2:]...)...)
		sec1 = append(sec1, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07)
		key, err := parseCell(t, sec1)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.PublicKey.Equal(key.Public()) {
			t.Fatal("a short scalar gives the wrong public key")
		}
		return
	}
}

func TestUnsupportedKeysAreRefusedClearly(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa8, _ := x509.MarshalPKCS8PrivateKey(rk)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384der, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ed8, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mismatched, _ := x509.MarshalECPrivateKey(p256)
	otherPub, _ := other.PublicKey.ECDH()
	ownPub, _ := p256.PublicKey.ECDH()
	mismatched = bytes.Replace(mismatched, ownPub.Bytes(), otherPub.Bytes(), 1)
	zero := append([]byte{0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20}, make([]byte, 32)...)
	zero = append(zero, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07)
	order := append([]byte{0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20}, p256Order[:]...)
	order = append(order, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"RSA PKCS #8", pemBlock("PRIVATE KEY", rsa8), "RSA"},
		{"RSA PKCS #1", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), "RSA"},
		{"P-384", pemBlock("PRIVATE KEY", p384der), "P-256"},
		{"encrypted", pemBlock("ENCRYPTED PRIVATE KEY", ed8), "encrypted"},
		{"PEM headers", []byte("-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END PRIVATE KEY-----\n"), "encrypted"},
		{"OpenSSH", pemBlock("OPENSSH PRIVATE KEY", ed8), "ssh-keygen"},
		{"two keys", append(pemBlock("PRIVATE KEY", ed8), pemBlock("PRIVATE KEY", ed8)...), "more than one"},
		{"no key", pemBlock("CERTIFICATE", ed8), "no PEM private key"},
		{"unterminated", []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n"), "not terminated"},
		{"not base64", []byte("-----BEGIN PRIVATE KEY-----\nMC4C*QAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n"), "base64"},
		{"truncated DER", ed8[:len(ed8)-3], "malformed"},
		{"public key mismatch", mismatched, "does not match"},
		{"zero scalar", zero, "zero"},
		{"scalar = order", order, "order"},
		{"empty", nil, "no PEM"},
	} {
		_, err := parseCell(t, c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
			continue
		}
		// The message quotes nothing of the key.
		for i := 0; i+6 <= len(c.b); i += 3 {
			if chunk := c.b[i : i+6]; bytes.Contains([]byte(err.Error()), chunk) && !isCommonText(chunk) {
				t.Errorf("%s: the error %q quotes the key's bytes", c.name, err)
				break
			}
		}
	}
}

// isCommonText is PEM's own framing, which an error may name.
func isCommonText(b []byte) bool {
	s := string(b)
	for _, w := range []string{"-----", "BEGIN", "END", "PRIVATE", "KEY", "RSA", "CERTIFICATE", "OPENSSH", "ENCRYPTED", "Proc-Type"} {
		if strings.Contains(w, strings.Trim(s, "- \n")) || strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func TestSignerFollowsRotation(t *testing.T) {
	_, a, _ := ed25519.GenerateKey(rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bder, _ := x509.MarshalPKCS8PrivateKey(b)
	ca := newCell(t, a.Seed())
	src := &rotating{v: ca}
	s, err := NewSigner(src, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !a.Public().(ed25519.PublicKey).Equal(s.Public()) {
		t.Fatal("wrong public key")
	}
	first, _ := s.Current()
	src.set(newCell(t, pemBlock("PRIVATE KEY", bder)))
	if !b.PublicKey.Equal(s.Public()) {
		t.Fatal("the Signer did not follow the rotation")
	}
	digest := sha256.Sum256([]byte("x"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(&b.PublicKey, digest[:], sig) {
		t.Fatalf("signing after the rotation: %v", err)
	}
	if _, err := first.Sign(nil, []byte("m"), crypto.Hash(0)); err != nil {
		t.Fatalf("the key taken before the rotation stopped working while its cell lives: %v", err)
	}
	ca.Destroy()
	_ = s.Public()
	if _, err := first.Sign(nil, []byte("m"), crypto.Hash(0)); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("the replaced key outlived its cell: %v", err)
	}
}
