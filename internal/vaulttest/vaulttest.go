//go:build unix

// Package vaulttest starts real Vault dev servers (and throw-away
// PostgreSQL clusters for Vault's database engine) for tests. Only tests
// and benchmarks import it.
//
// The Vault binary is $VAULT_BIN, else vault-1.14.8 in the cache folder
// .ci/vault-bin builds it into ($(go env GOCACHE)/../vault-bin). When there
// is none, Require skips the test with the reason, or fails it when
// SECRETMEM_REQUIRE_VAULT=1 (CI sets it).
package vaulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
)

// Version is the Vault release the tests run against (the last MPL-2.0
// one; .ci/vault-bin builds it).
const Version = "1.14.8"

// Binary returns the Vault binary's path, or why there is none.
func Binary() (string, error) {
	if p := os.Getenv("VAULT_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VAULT_BIN: %w", err)
		}
		return p, nil
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		dirs = append(dirs, filepath.Join(string(bytes.TrimSpace(out)), "..", "vault-bin"))
	}
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "vault-bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "vault-"+Version)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Vault %s binary: set VAULT_BIN, or build it with .ci/vault-bin (about 9 minutes) into %s",
		Version, strings.Join(dirs, " or "))
}

// Require returns the Vault binary, or skips t (fails it under
// SECRETMEM_REQUIRE_VAULT=1) when there is none.
func Require(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if os.Getenv("SECRETMEM_REQUIRE_VAULT") == "1" {
			t.Fatalf("SECRETMEM_REQUIRE_VAULT=1: %v", err)
		}
		t.Skip(err)
	}
	return p
}

// Server is a running Vault dev server on 127.0.0.1: in memory, unsealed,
// with a root token. Its data is lost when it stops.
type Server struct {
	Addr   string // http://127.0.0.1:PORT, or https:// with TLS
	Token  string // the root token
	CACert string // with TLS: the PEM file of the CA that signed its certificate
	Dir    string // scratch folder (TLS files, HOME of the server)

	bin    string
	listen string
	tls    bool
	proc   *testchild.Process
	log    *testchild.Buffer
	hc     *http.Client
}

// Options for Start.
type Options struct {
	TLS bool // -dev-tls: HTTPS with a CA of its own (CACert)
}

// Start starts a dev server for t and stops it when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Require(t)
	dir, err := os.MkdirTemp("", "vaulttest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Token: "root-" + randHex(8), Dir: dir, bin: bin, tls: o.TLS}
	var lastErr error
	for range 3 {
		port, err := testchild.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s.listen = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = s.run(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) run() error {
	args := []string{"server", "-dev", "-dev-root-token-id=" + s.Token, "-dev-listen-address=" + s.listen, "-dev-no-store-token"}
	scheme := "http"
	if s.tls {
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+s.Dir)
		scheme = "https"
		s.CACert = filepath.Join(s.Dir, "vault-ca.pem")
		// A CA left by an earlier attempt (or a restart) is not this
		// server's: wait for the new one.
		_ = os.Remove(s.CACert)
	}
	s.Addr = scheme + "://" + s.listen
	s.hc = nil // a restarted TLS server has a new CA
	cmd := exec.Command(s.bin, args...)
	cmd.Env = []string{"HOME=" + s.Dir, "PATH=" + os.Getenv("PATH")}
	s.log = &testchild.Buffer{}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	p, err := testchild.Start(cmd)
	if err != nil {
		return err
	}
	s.proc = p
	err = p.Await(30*time.Second, 20*time.Millisecond, func() bool {
		if s.tls {
			if _, err := os.Stat(s.CACert); err != nil {
				return false
			}
		}
		// Asked with this server's root token: a port found free may be
		// taken by another test's dev server before this one binds it
		// (and exits), and sys/health would take that one for this one.
		code, _, err := s.Call("GET", "auth/token/lookup-self", nil, "")
		if err != nil && s.tls {
			// The CA file may have been read half written: read it again
			// at the next try rather than keep a client that trusts
			// nothing (CI: three starts failed for 30 s each that way).
			s.hc = nil
		}
		return err == nil && code == 200
	})
	switch {
	case errors.Is(err, testchild.ErrExited):
		return fmt.Errorf("vault dev server exited at start: %v\n%s", p.Err(), s.log.String())
	case err != nil:
		s.Kill()
		return fmt.Errorf("vault dev server at start: %v", err)
	}
	return nil
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.proc != nil {
		s.proc.Kill()
	}
}

// Restart starts the server again on the same address with the same root
// token, after Kill. A dev server keeps nothing: seed it again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	var err error
	for range 50 { // the port may take a moment to be free again
		if err = s.run(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restarting vault: %v", err)
}

// Call sends a JSON request to the API (path below /v1/) with token (the
// root token when ""), and returns the status and the decoded body.
// This is test plumbing, made with encoding/json on purpose: the values it
// carries are the test's own.
func (s *Server) Call(method, path string, body any, token string) (int, map[string]any, error) {
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
		if s.tls {
			pem, err := os.ReadFile(s.CACert)
			if err != nil {
				return 0, nil, err
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			s.hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		}
	}
	if token == "" {
		token = s.Token
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.Addr+"/v1/"+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("decoding %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, out, nil
}

// API is Call with the root token that fails t on an error or a status
// over 299.
func (s *Server) API(t testing.TB, method, path string, body any) map[string]any {
	t.Helper()
	code, out, err := s.Call(method, path, body, "")
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if code > 299 {
		t.Fatalf("%s %s: HTTP %d: %v", method, path, code, out["errors"])
	}
	return out
}

// Log returns what the server printed.
func (s *Server) Log() string { return s.log.String() }

// Data returns out["data"] as a map, or fails t.
func Data(t testing.TB, out map[string]any) map[string]any {
	t.Helper()
	d, ok := out["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data in %v", out)
	}
	return d
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RandHex returns 2n random hex digits, for secrets a test writes.
func RandHex(n int) string { return randHex(n) }
