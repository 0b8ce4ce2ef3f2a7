// Command signing shows keys that sign without leaving protected memory:
// an HMAC, an Ed25519 signature, a JWT issued and checked by chi
// middleware, and a TLS handshake signed from a cell.
//
//	go run ./examples/signing
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
	"github.com/secretmem/secretmem/tlscert"
)

func main() {
	// A Source hands out the cell that holds a key now; a *config.Config is
	// one (cfg.Secret), and a reload that changes the key is followed. Here
	// the cells are made by hand.
	keys := map[string]secret.Value{}
	src := secret.SourceFunc(func(name string) secret.Value { return keys[name] })
	keys["webhook.key"] = must(secret.New([]byte("whsec-0123456789abcdef")))
	keys["jwt.secret"] = must(secret.New([]byte("jwt-secret-0123456789-0123456789-abcdef")))
	keys["ed25519.private_key"] = must(secret.Random(32)) // a raw seed; PEM works too
	keys["tls.key"] = must(secret.New(selfSignedPEM()))
	defer func() {
		for _, v := range keys {
			v.Destroy()
		}
	}()

	// HMAC: the key's padded blocks and the hash states after them live in a cell.
	mac := must(sign.NewHMAC(sign.SHA256, src, "webhook.key"))
	tag := must(mac.Sum(nil, []byte(`{"event":"paid"}`)))
	fmt.Println("hmac:", hex.EncodeToString(tag)[:16], "verifies:", mac.Verify(tag, []byte(`{"event":"paid"}`)) == nil)

	// Ed25519: a crypto.Signer whose scalar and nonce prefix live in a cell.
	signer := must(sign.NewSigner(src, "ed25519.private_key"))
	sig := must(signer.Sign(nil, []byte("release v1.2.3"), crypto.Hash(0)))
	fmt.Println("ed25519 verifies:", ed25519.Verify(signer.Public().(ed25519.PublicKey), []byte("release v1.2.3"), sig))

	// JWT: issue a token, then require one on a chi route.
	key := must(jwt.HMACKey(jwt.HS256, "2025-01", src, "jwt.secret"))
	tok := must(key.Sign(map[string]any{"iss": "example", "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}))
	v := must(jwt.NewVerifier(jwt.Options{Issuer: "example", Audience: "api"}, key))
	r := chi.NewRouter()
	r.Use(middleware.Tokens())
	r.With(middleware.RequireJWT(v)).Get("/me", func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.JWTClaims(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject)
	})
	for _, bearer := range []string{tok, tok[:len(tok)-4] + "AAAA"} {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println("jwt:", w.Code, w.Body.String())
	}

	// TLS: the certificate's key signs each handshake from its cell.
	cert := must(tlscert.New(src, "tls.key", nil))
	defer cert.Close()
	ln := must(tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: cert.GetCertificate}))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed
	resp := must(client.Get("https://" + ln.Addr().String()))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("tls: %s over %s with a %T key\n", body, tls.VersionName(resp.TLS.Version), resp.TLS.PeerCertificates[0].PublicKey)
}

// selfSignedPEM makes a P-256 key and a certificate for 127.0.0.1, in
// one PEM value, as a secret file holding both would.
func selfSignedPEM() []byte {
	k := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k))
	p8 := must(x509.MarshalPKCS8PrivateKey(k))
	return append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
