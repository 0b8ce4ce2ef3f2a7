//go:build unix

package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var tlsListening = regexp.MustCompile(`"msg":"listening tls","addr":"([0-9.:]+)"`)

// selfSigned returns a P-256 key (PKCS #8 PEM) and a certificate for
// 127.0.0.1 (PEM).
func selfSigned(t *testing.T) (keyPEM, certPEM []byte, cert *x509.Certificate) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "testserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	cert, _ = x509.ParseCertificate(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

// The signing endpoints, JWTs and TLS, with every key from a secret
// directory.
func TestSigningEndpointsAndTLS(t *testing.T) {
	t.Parallel()
	apiKey := marker(t)
	jwtSecret := marker(t) + marker(t)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	tlsKey, tlsCert, cert := selfSigned(t)
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secrets, "ed25519.private_key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})))
	writeFile(t, filepath.Join(secrets, "jwt.secret"), jwtSecret)
	writeFile(t, filepath.Join(secrets, "tls.key"), string(tlsKey)+string(tlsCert))
	srv := start(t, []string{"APP_API__KEY=" + apiKey}, "-secrets-dir", secrets, "-tls-addr", "127.0.0.1:0")

	code, body := call(t, "POST", srv.base+"/api/sign/ed25519", apiKey, "hello")
	var ed struct{ Alg, Signature, Public_Key string }
	if code != 200 || json.Unmarshal([]byte(body), &ed) != nil {
		t.Fatalf("/api/sign/ed25519: %d %s", code, show(body))
	}
	sig, _ := base64.StdEncoding.DecodeString(ed.Signature)
	if !ed25519.Verify(edPriv.Public().(ed25519.PublicKey), []byte("hello"), sig) {
		t.Error("/api/sign/ed25519: the signature does not verify with the configured key")
	}
	if code, _ := call(t, "POST", srv.base+"/api/sign/ed25519", "", "hello"); code != 401 {
		t.Errorf("/api/sign/ed25519 without the key: %d", code)
	}

	code, body = call(t, "POST", srv.base+"/api/token?sub=carol", apiKey, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("/api/token: %d %s", code, show(body))
	}
	code, body = call(t, "GET", srv.base+"/api/jwt/whoami", tok.AccessToken, "")
	if code != 200 || !strings.Contains(body, `"subject":"carol"`) {
		t.Errorf("/api/jwt/whoami with the token: %d %s", code, show(body))
	}
	for name, bearer := range map[string]string{"no token": "", "the API key": apiKey, "a tampered token": tok.AccessToken[:len(tok.AccessToken)-2] + "xx"} {
		if code, body := call(t, "GET", srv.base+"/api/jwt/whoami", bearer, ""); code != 401 {
			t.Errorf("/api/jwt/whoami with %s: %d %s", name, code, show(body))
		}
	}

	m := tlsListening.FindStringSubmatch(srv.logs.String())
	if m == nil {
		t.Fatalf("the server did not say where it serves TLS:\n%s", show(srv.logs.String()))
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + m[1] + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the key from its cell: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" || !resp.TLS.PeerCertificates[0].Equal(cert) {
		t.Errorf("HTTPS /healthz: %q", b)
	}
	logs := srv.stop(t, syscall.SIGTERM)
	for _, s := range []string{apiKey, jwtSecret, tok.AccessToken, string(tlsKey[40:80])} {
		if strings.Contains(logs, s) {
			t.Error("the logs hold a secret")
		}
	}
}
