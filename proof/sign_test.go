//go:build linux

package proof

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"filippo.io/edwards25519"

	"github.com/secretmem/secretmem/internal/coredump"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
)

// How much signing the testserver does before it is dumped.
const (
	signHMACs      = 1000
	signEd25519s   = 1000
	signJWTs       = 1000
	signHandshakes = 100
	signConns      = 4
)

// TestSigningKeysStayInTheirCells: after 1,000 HMACs, 1,000 Ed25519
// signatures, 1,000 JWT verifications and 100 TLS handshakes (ECDSA
// P-256), a gcore and a kernel core of the testserver hold no copy of any
// key outside its cells, nor of anything derived from one: HMAC's padded
// key blocks and the SHA-256 states after them, the Ed25519 expanded key
// (clamped and reduced scalar, in bytes and in edwards25519's Montgomery
// words, and the nonce prefix), the ECDSA scalar big-endian,
// little-endian (which is also math/big's words on amd64), and the keys'
// PEM text. A control (the TLS certificate, public and on the heap) is
// found, so the scan can see.
func TestSigningKeysStayInTheirCells(t *testing.T) {
	heavy(t)
	for _, be := range []backend{memfd, mlock} {
		t.Run(be.name, func(t *testing.T) { proveSigning(t, be) })
	}
}

// signingKeys are the keys one run hands the testserver.
type signingKeys struct {
	hmac, jwt string // signing.key, jwt.secret
	seed      []byte // ed25519.private_key
	edPEM     []byte
	ecdsa     *ecdsa.PrivateKey // tls.key
	tlsPEM    []byte
	cert      *x509.Certificate
	needles   map[string][]byte
	names     []string // needle names in report order
	control   string
}

func newSigningKeys(t *testing.T, ms *markerSet) *signingKeys {
	k := &signingKeys{hmac: ms.secret("signing.key"), jwt: ms.secret("jwt.secret") + randHex(16)}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k.seed = priv.Seed()
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	k.edPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	k.ecdsa, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proof"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.ecdsa.PublicKey, k.ecdsa)
	if err != nil {
		t.Fatal(err)
	}
	k.cert, _ = x509.ParseCertificate(certDER)
	p8, _ := x509.MarshalPKCS8PrivateKey(k.ecdsa)
	k.tlsPEM = append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})...)

	k.needles = map[string][]byte{}
	add := func(name string, b []byte) {
		k.needles[name] = bytes.Clone(b)
		k.names = append(k.names, name)
	}
	for _, h := range []struct{ name, key string }{{"signing.key", k.hmac}, {"jwt.secret", k.jwt}} {
		add(h.name, []byte(h.key))
		for _, p := range []struct {
			name string
			x    byte
		}{{"ipad", 0x36}, {"opad", 0x5c}} {
			block := make([]byte, sha256.BlockSize)
			copy(block, h.key)
			for i := range block {
				block[i] ^= p.x
			}
			add(h.name+" XOR "+p.name, block[:32])
			d := sha256.New()
			d.Write(block)
			state, _ := d.(encoding.BinaryMarshaler).MarshalBinary()
			cv := state[4:36] // "sha\x03", then the chaining value, big-endian words
			add(h.name+" "+p.name+" midstate", cv)
			add(h.name+" "+p.name+" midstate (words)", swapWords(cv, 4))
		}
	}
	add("Ed25519 seed", k.seed)
	add("Ed25519 PEM", pemBody(k.edPEM))
	hs := sha512.Sum512(k.seed)
	clamped := bytes.Clone(hs[:32])
	clamped[0] &= 248
	clamped[31] = clamped[31]&63 | 64
	add("Ed25519 clamped scalar", clamped)
	add("Ed25519 prefix", hs[32:])
	s, _ := edwards25519.NewScalar().SetBytesWithClamping(hs[:32])
	add("Ed25519 scalar", s.Bytes())
	add("Ed25519 scalar (Montgomery words)", unsafe.Slice((*byte)(unsafe.Pointer(s)), unsafe.Sizeof(*s)))
	var d [32]byte
	k.ecdsa.D.FillBytes(d[:])
	add("ECDSA scalar, big-endian", d[:])
	le := bytes.Clone(d[:])
	slices.Reverse(le)
	add("ECDSA scalar, little-endian (big.Int words)", le)
	add("ECDSA PEM", pemBody(k.tlsPEM))
	k.control = "control: the TLS certificate"
	k.needles[k.control] = certDER[:64]
	return k
}

// pemBody is the first 48 base64 characters of a PEM block's body.
func pemBody(p []byte) []byte {
	i := bytes.IndexByte(p, '\n') + 1
	return p[i : i+48]
}

// swapWords reverses each size-byte word of b.
func swapWords(b []byte, size int) []byte {
	out := bytes.Clone(b)
	for i := 0; i+size <= len(out); i += size {
		slices.Reverse(out[i : i+size])
	}
	return out
}

var tlsListening = regexp.MustCompile(`"msg":"listening tls","addr":"([0-9.:]+)"`)

func proveSigning(t *testing.T, be backend) {
	dir := t.TempDir()
	ms := newMarkerSet()
	keys := newSigningKeys(t, ms)
	apiKey := ms.secret("api.key")
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{
		"signing.key": []byte(keys.hmac), "jwt.secret": []byte(keys.jwt),
		"ed25519.private_key": keys.edPEM, "tls.key": keys.tlsPEM,
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append([]string{"APP_API__KEY=" + apiKey, "GOTRACEBACK=crash"}, be.env...)
	p := start(t, testserver, dir, env, "-secrets-dir", secrets, "-tls-addr", "127.0.0.1:0")
	m := tlsListening.FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatal("the testserver did not say where it serves TLS")
	}
	tokens := driveSigning(t, p.addr, m[1], apiKey, keys)
	// Each token is a needle of its own, and a dump takes one pass per
	// needle: search the 100 sent last (what read buffers would hold) and
	// 50 of the others.
	var searched []int
	for i := len(tokens) - 100; i < len(tokens); i++ {
		searched = append(searched, i)
	}
	for i := 0; i < len(tokens)-100; i += (len(tokens) - 100) / 50 {
		searched = append(searched, i)
	}

	judge := func(kind, path string) {
		defer os.Remove(path)
		needles := maps(keys.needles)
		for _, i := range searched {
			tok := tokens[i]
			needles[fmt.Sprintf("jwt %d", i)] = []byte(tok[strings.LastIndexByte(tok, '.')+1:])
		}
		all, inRegs, err := coredump.Count(path, needles, inSavedRegisters)
		if err != nil {
			t.Fatal(err)
		}
		test := fmt.Sprintf("%s: signing keys after %d HMACs, %d Ed25519, %d JWTs, %d TLS handshakes, %s", kind,
			signHMACs, signEd25519s, signJWTs, signHandshakes, be.name)
		if all[keys.control] == 0 {
			t.Fatalf("%s: the control is not in the dump: the scan cannot see", test)
		}
		var found []string
		copies, regs := 0, 0
		for _, name := range keys.names {
			mem := all[name] - inRegs[name]
			copies += mem
			regs += inRegs[name]
			if all[name] > 0 {
				found = append(found, fmt.Sprintf("%s %d (%d in saved registers)", name, mem, inRegs[name]))
			}
		}
		jwtMem, jwtRegs := 0, 0
		for _, i := range searched {
			name := fmt.Sprintf("jwt %d", i)
			jwtMem += all[name] - inRegs[name]
			jwtRegs += inRegs[name]
		}
		summary := fmt.Sprintf("%d copies of keys or derived forms, %d in saved registers", copies, regs)
		if len(found) > 0 {
			summary += ": " + strings.Join(found, ", ")
		}
		record(t, test, "0 (any in saved registers counted apart)", summary, copies == 0)
		if copies != 0 {
			t.Errorf("%s: %s", test, summary)
		}
		jwtTest := fmt.Sprintf("%s: JWT signatures of %d tokens (the last 100 sent and 50 earlier) of %d, over %d connections, %s",
			kind, len(searched), signJWTs, signConns, be.name)
		record(t, jwtTest, fmt.Sprintf("<= %d (one per connection's read buffer)", signConns),
			fmt.Sprintf("%d, %d more in saved registers", jwtMem, jwtRegs), jwtMem <= signConns)
		if jwtMem > signConns {
			t.Errorf("%s: %d copies", jwtTest, jwtMem)
		}
	}
	if gdb, err := exec.LookPath("gdb"); err != nil {
		recordInfo(t, "gcore: signing keys", "skipped", "gdb not found")
	} else if path, err := gcore(gdb, p.Pid(), dir); err != nil {
		t.Errorf("gcore: %v", err)
	} else {
		judge("gcore", path)
	}
	if why := kernelCoreReady(); why != "" {
		recordInfo(t, "kernel core (SIGABRT): signing keys", "skipped", why)
	} else if path, err := kernelCore(p, dir); err != nil {
		t.Errorf("kernel core: %v", err)
	} else {
		judge("kernel core (SIGABRT)", path)
	}
}

func maps(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// driveSigning makes the testserver sign and verify, over signConns
// keep-alive connections, and returns the JWTs it sent.
func driveSigning(t *testing.T, addr, tlsAddr, apiKey string, keys *signingKeys) []string {
	t.Helper()
	jwtCell, err := secret.New([]byte(keys.jwt))
	if err != nil {
		t.Fatal(err)
	}
	defer jwtCell.Destroy()
	jk, err := jwt.HMACKey(jwt.HS256, "", sign.Static(jwtCell), "jwt.secret")
	if err != nil {
		t.Fatal(err)
	}
	defer jk.Close()
	tokens := make([]string, signJWTs)
	for i := range tokens {
		tokens[i], err = jk.Sign(map[string]any{
			"iss": "secretmem-testserver", "aud": "secretmem-testserver-api",
			"sub": fmt.Sprintf("user-%d", i), "exp": time.Now().Add(time.Hour).Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxConnsPerHost: signConns, MaxIdleConnsPerHost: signConns}}
	defer client.CloseIdleConnections()
	edPub := ed25519.NewKeyFromSeed(keys.seed).Public().(ed25519.PublicKey)
	var wg sync.WaitGroup
	errs := make(chan error, signConns)
	for w := range signConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < signJWTs; i += signConns {
				for _, c := range []struct {
					method, path, bearer string
				}{
					{"POST", "/api/sign", apiKey},
					{"POST", "/api/sign/ed25519", apiKey},
					{"GET", "/api/jwt/whoami", tokens[i]},
				} {
					body, err := call(client, c.method, "http://"+addr+c.path, c.bearer, fmt.Sprintf("message %d", i))
					if err != nil {
						errs <- fmt.Errorf("%s %s: %w", c.method, c.path, err)
						return
					}
					if c.path == "/api/sign/ed25519" {
						var r struct{ Signature string }
						sig, _ := base64.StdEncoding.DecodeString(func() string { _ = json.Unmarshal(body, &r); return r.Signature }())
						if !ed25519.Verify(edPub, []byte(fmt.Sprintf("message %d", i)), sig) {
							errs <- fmt.Errorf("an Ed25519 signature does not verify")
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(keys.cert)
	for i := range signHandshakes {
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12 + uint16(i%2)})
		if err != nil {
			t.Fatalf("TLS handshake %d: %v", i, err)
		}
		_ = conn.Close()
	}
	return tokens
}

func call(c *http.Client, method, url, bearer, body string) ([]byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	return b, nil
}
