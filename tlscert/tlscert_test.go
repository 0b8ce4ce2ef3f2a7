package tlscert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// pair is a self-signed certificate for 127.0.0.1 and its key, in PEM.
type pair struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

func newPair(t testing.TB, key crypto.Signer, serial int64) pair {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "secretmem test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		cert:    cert,
	}
}

func ed25519Pair(t testing.TB, serial int64) pair {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return newPair(t, k, serial)
}

func p256Pair(t testing.TB, serial int64) pair {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return newPair(t, k, serial)
}

// cell puts a copy of b in a cell that lives as long as the test.
func cell(t testing.TB, b []byte) secret.Value { return testsecret.Cell(t, b) }

// source is a rotating secret.Source.
type source struct {
	mu sync.Mutex
	v  secret.Value
}

func (s *source) Secret(string) secret.Value { s.mu.Lock(); defer s.mu.Unlock(); return s.v }
func (s *source) set(v secret.Value)         { s.mu.Lock(); s.v = v; s.mu.Unlock() }

// listen serves TLS on 127.0.0.1 with c, echoing one byte on each
// connection and waiting for the client to close it.
func listen(t testing.TB, c *Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: c.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				var b [1]byte
				if _, err := conn.Read(b[:]); err != nil {
					return
				}
				_, _ = conn.Write(b[:])
				_, _ = conn.Read(b[:]) // until the client closes
			}()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake trusting roots and returns the served leaf.
func dial(t testing.TB, addr string, version uint16, roots ...*x509.Certificate) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: version, MaxVersion: version})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	b := [1]byte{7}
	if _, err := conn.Write(b[:]); err != nil {
		return nil, err
	}
	if _, err := conn.Read(b[:]); err != nil {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestHandshakesWithKeysInCells(t *testing.T) {
	for name, p := range map[string]pair{"Ed25519": ed25519Pair(t, 1), "ECDSA P-256": p256Pair(t, 2)} {
		c, err := New(&source{v: cell(t, append(bytes.Clone(p.certPEM), p.keyPEM...))}, "tls.key", nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		addr := listen(t, c)
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			leaf, err := dial(t, addr, v, p.cert)
			if err != nil || !leaf.Equal(p.cert) {
				t.Fatalf("%s, TLS %x: %v", name, v, err)
			}
		}
		c.Close()
		if _, err := dial(t, addr, tls.VersionTLS13, p.cert); err == nil {
			t.Errorf("%s: a handshake after Close succeeded", name)
		}
	}
}

// A new cell serves a new certificate from the next handshake on; the
// replaced key is destroyed once its cell dies.
func TestRotationThroughTheSource(t *testing.T) {
	a, b := ed25519Pair(t, 10), p256Pair(t, 11)
	ca := cell(t, append(bytes.Clone(a.certPEM), a.keyPEM...))
	src := &source{v: ca}
	c, err := New(src, "tls.key", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := listen(t, c)
	if leaf, err := dial(t, addr, tls.VersionTLS13, a.cert, b.cert); err != nil || leaf.SerialNumber.Int64() != 10 {
		t.Fatalf("before the rotation: %v", err)
	}
	old := c.cur.Load()
	src.set(cell(t, append(bytes.Clone(b.certPEM), b.keyPEM...)))
	if leaf, err := dial(t, addr, tls.VersionTLS13, a.cert, b.cert); err != nil || leaf.SerialNumber.Int64() != 11 {
		t.Fatalf("after the rotation: %v", err)
	}
	if _, err := old.key.Sign(nil, []byte("m"), crypto.Hash(0)); err != nil {
		t.Fatalf("the replaced key died while its cell lives: %v", err)
	}
	ca.Destroy()
	if _, err := dial(t, addr, tls.VersionTLS13, a.cert, b.cert); err != nil {
		t.Fatal(err)
	}
	if _, err := old.key.Sign(nil, []byte("m"), crypto.Hash(0)); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("the replaced key outlived its cell: %v", err)
	}
}

// A key and a certificate that do not match, or a broken key, are not
// served: the previous certificate is, and OnError hears why, once.
func TestABadRenewalKeepsTheOldCertificate(t *testing.T) {
	a, b := p256Pair(t, 20), p256Pair(t, 21)
	src := &source{v: cell(t, append(bytes.Clone(a.certPEM), a.keyPEM...))}
	var errs []error
	c, err := New(src, "tls.key", &Options{OnError: func(err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := listen(t, c)
	src.set(cell(t, append(bytes.Clone(a.certPEM), b.keyPEM...)))
	for range 3 {
		if leaf, err := dial(t, addr, tls.VersionTLS13, a.cert); err != nil || leaf.SerialNumber.Int64() != 20 {
			t.Fatalf("with a mismatched renewal: %v", err)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "not for this private key") {
		t.Errorf("OnError heard %v", errs)
	}
	src.set(cell(t, append(bytes.Clone(b.certPEM), b.keyPEM...)))
	if leaf, err := dial(t, addr, tls.VersionTLS13, b.cert); err != nil || leaf.SerialNumber.Int64() != 21 {
		t.Fatalf("after a good renewal: %v", err)
	}
}

// The chain can live in a file of its own, read again when it changes.
func TestCertFileRotation(t *testing.T) {
	a := p256Pair(t, 30)
	dir := wine.TempDir(t)
	certFile := filepath.Join(dir, "tls.crt")
	if err := os.WriteFile(certFile, a.certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	src := &source{v: cell(t, a.keyPEM)}
	c, err := New(src, "tls.key", &Options{CertFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := listen(t, c)
	if leaf, err := dial(t, addr, tls.VersionTLS13, a.cert); err != nil || leaf.SerialNumber.Int64() != 30 {
		t.Fatalf("%v", err)
	}
	// A renewed certificate for the same key (certbot --reuse-key).
	tmpl := *a.cert
	tmpl.SerialNumber = big.NewInt(31)
	blk, _ := pem.Decode(a.keyPEM)
	parsed, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := parsed.(crypto.Signer)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	renewed, _ := x509.ParseCertificate(der)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(2 * time.Second)
	_ = os.Chtimes(certFile, future, future)
	c.nextCheck.Store(0)
	if leaf, err := dial(t, addr, tls.VersionTLS13, a.cert, renewed); err != nil || leaf.SerialNumber.Int64() != 31 {
		t.Fatalf("after renewing the file: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPair := newPair(t, rk, 40)
	a := ed25519Pair(t, 41)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"RSA", append(bytes.Clone(rsaPair.certPEM), rsaPair.keyPEM...), "RSA"},
		{"no certificate", a.keyPEM, "no CERTIFICATE"},
		{"no key", a.certPEM, "no PEM private key"},
	} {
		_, err := New(&source{v: cell(t, c.b)}, "tls.key", nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := New(&source{}, "tls.key", nil); err == nil || !strings.Contains(err.Error(), "tls.key") {
		t.Errorf("no cell: %v", err)
	}
}
