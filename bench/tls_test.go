package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/tlscert"
)

// BenchmarkTLSHandshake: a full TLS 1.3 handshake (both ends, over
// net.Pipe) with the server's key in a plain tls.Certificate and in
// cells through tlscert (issue 16). The server signs once per handshake.
func BenchmarkTLSHandshake(b *testing.B) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"Ed25519", edKey}, {"P-256", ecKey}} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"bench"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.key.Public(), k.key)
		if err != nil {
			b.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		pool := x509.NewCertPool()
		pool.AddCert(leaf)
		p8, _ := x509.MarshalPKCS8PrivateKey(k.key)
		v, err := secret.New(append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...))
		if err != nil {
			b.Fatal(err)
		}
		cells, err := tlscert.New(sign.Static(v), "tls.key", nil)
		if err != nil {
			b.Fatal(err)
		}
		plain := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k.key, Leaf: leaf}
		for _, srv := range []struct {
			name string
			cfg  *tls.Config
		}{
			{"plain", &tls.Config{Certificates: []tls.Certificate{*plain}}},
			{"cells", &tls.Config{GetCertificate: cells.GetCertificate}},
		} {
			client := &tls.Config{RootCAs: pool, ServerName: "bench"}
			b.Run(k.name+"/"+srv.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c, s := net.Pipe()
					done := make(chan error, 1)
					go func() { done <- tls.Server(s, srv.cfg).Handshake() }()
					if err := tls.Client(c, client).Handshake(); err != nil {
						b.Fatal(err)
					}
					if err := <-done; err != nil {
						b.Fatal(err)
					}
					c.Close()
					s.Close()
				}
			})
		}
		cells.Close()
		v.Destroy()
	}
}

// BenchmarkRSAKeyPerSignature estimates what an RSA key in cells would
// cost: crypto/rsa signs only with a *rsa.PrivateKey, and converts it (and
// caches the conversion per key) into a FIPS 140 key with precomputed
// Montgomery parameters. A key whose numbers stay in cells would have to
// be rebuilt, validated and precomputed for every signature, and that
// copy wiped: "per-signature" below. "cached" is the usual way.
func BenchmarkRSAKeyPerSignature(b *testing.B) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	digest := sha256.Sum256([]byte("x"))
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := key.Sign(rand.Reader, digest[:], opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("per-signature", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k := &rsa.PrivateKey{PublicKey: key.PublicKey, D: new(big.Int).Set(key.D),
				Primes: []*big.Int{new(big.Int).Set(key.Primes[0]), new(big.Int).Set(key.Primes[1])}}
			k.Precompute()
			if _, err := k.Sign(rand.Reader, digest[:], opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
