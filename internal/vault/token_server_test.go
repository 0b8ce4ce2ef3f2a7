//go:build unix

package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
	"github.com/secretmem/secretmem/secret"
)

// currentCell is the Client's token cell, for tests that check it changed.
func currentCell(c *Client) secret.Value {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	return c.tok.cell
}

// revokeToken revokes c's token with the root token, as an operator
// would. Test plumbing: the token's bytes leave its cell for the request.
func revokeToken(t *testing.T, srv *vaulttest.Server, c *Client) {
	t.Helper()
	b, _ := currentCell(c).Reveal()
	srv.API(t, "POST", "auth/token/revoke", map[string]any{"token": string(b)})
}

// A short-lived AppRole token is renewed for its TTL until its max TTL
// caps a renewal; then the next renewal is a new login, with a new token.
// The renewal must come before the token expires: 4 s into an 8 s token,
// a loaded machine has 4 s (with a 4 s token renewed at 3.2 s, 0.8 s).
func TestTokenRenewalThenRelogin(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	srv := vaulttest.Start(t, vaulttest.Options{})
	c, _ := appRoleClient(t, srv, "8s", "10s")
	ctx := ctxFor(t)
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	first := currentCell(c)
	if info := c.TokenInfo(); info.TTL != 8*time.Second || !info.Renewable {
		t.Fatalf("after login: %+v", info)
	}
	due := c.TokenInfo().Due.Sub(c.TokenInfo().Obtained)
	if due < 4800*time.Millisecond || due > 5600*time.Millisecond {
		t.Errorf("renewal due %v after login; want 60-70%% of 8 s", due)
	}

	time.Sleep(4 * time.Second)
	if err := c.RenewToken(ctx); err != nil {
		t.Fatal(err)
	}
	info := c.TokenInfo()
	if currentCell(c) != first || info.Logins != 2 {
		t.Fatalf("a renewal must keep the token: %+v", info)
	}
	// 4 s into a token with a 10 s max TTL, an 8 s renewal is capped
	// (Vault rounds what is left up to whole seconds: 6).
	if !info.Capped || info.TTL >= 8*time.Second {
		t.Fatalf("the renewal near the max TTL should be capped: %+v", info)
	}
	if err := c.RenewToken(ctx); err != nil {
		t.Fatal(err)
	}
	second := currentCell(c)
	if second == first || first.Alive() {
		t.Fatal("a capped token must be replaced by a new login, and the old cell destroyed")
	}
	if info := c.TokenInfo(); info.Capped || info.TTL != 8*time.Second {
		t.Errorf("after the new login: %+v", info)
	}
	if _, err := c.KVVersion(ctx, "secret/data/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the new token does not work: %v", err)
	}
}

// Vault 1.14 refuses to renew a token whose max TTL has less than a
// whole second left with a 500 ("past the max TTL, cannot renew"), and a
// 1 s token renewed every 300 ms gets there without any renewal falling
// short of the second asked for. That is no outage to wait out: the
// client logs in again.
func TestARenewalPastTheMaxTTLLogsInAgain(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	srv := vaulttest.Start(t, vaulttest.Options{})
	c, _ := appRoleClient(t, srv, "1s", "3s")
	ctx := ctxFor(t)
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	first := currentCell(c)
	for end := time.Now().Add(3500 * time.Millisecond); time.Now().Before(end); {
		time.Sleep(300 * time.Millisecond)
		if err := c.RenewToken(ctx); err != nil {
			t.Fatalf("renewing %v after the login: %v", time.Since(c.TokenInfo().Obtained), err)
		}
	}
	if currentCell(c) == first || first.Alive() {
		t.Error("the token was not replaced by a new login at its max TTL")
	}
	if _, err := c.KVVersion(ctx, "secret/data/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the new token does not work: %v", err)
	}
}

// KeepTokenAlive keeps a client working well past its token's max TTL,
// renewing and logging in again in the background.
func TestKeepTokenAliveOutlivesTheMaxTTL(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	if testing.Short() {
		t.Skip("waits 7 s")
	}
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "x"})
	c, logs := appRoleClient(t, srv, "2s", "4s")
	ctx, cancel := context.WithCancel(ctxFor(t))
	var failures atomic.Int32
	done := make(chan error)
	go func() {
		done <- c.KeepTokenAlive(ctx, func(err error) {
			failures.Add(1)
			t.Logf("renewal failed: %v", err)
		})
	}()
	end := time.Now().Add(7 * time.Second)
	for time.Now().Before(end) {
		v, err := c.KVVersion(ctxFor(t), "secret/data/app")
		if err != nil || v != 1 {
			t.Fatalf("at %v: %d, %v", time.Until(end), v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("KeepTokenAlive returned %v", err)
	}
	if failures.Load() != 0 {
		t.Errorf("%d renewals failed", failures.Load())
	}
	if n := strings.Count(logs.String(), "logged in"); n < 2 {
		t.Errorf("%d logins in 7 s of 4 s max TTL tokens; want at least 2", n)
	}
	if n := strings.Count(logs.String(), "token renewed"); n < 1 {
		t.Errorf("%d renewals; want at least one", n)
	}
}

// A token the caller gives is renewed, never replaced; once expired it is
// an error that says so, found without asking Vault. The renewal must come
// before the token expires: 2.5 s into a 6 s token, a loaded machine has
// 3.5 s (with a 3 s token, 0.5 s: in the shake it came too late, and
// Vault refused it with a 403).
func TestAGivenTokenIsRenewedAndExpires(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	srv := vaulttest.Start(t, vaulttest.Options{})
	out := srv.API(t, "POST", "auth/token/create", map[string]any{"ttl": "6s", "explicit_max_ttl": "7s", "policies": []string{"default"}})
	tok := out["auth"].(map[string]any)["client_token"].(string)
	c, _ := newClient(t, srv, Token{Value: cell(t, tok)}, nil)
	ctx := ctxFor(t)
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if info := c.TokenInfo(); !info.Renewable || info.TTL <= 0 || info.TTL > 6*time.Second {
		t.Fatalf("lookup-self: %+v", info)
	}
	// Vault counts whole seconds: 2.5 s into a 7 s max TTL, at most 5 s
	// are left, less than the 6 s asked for.
	time.Sleep(2500 * time.Millisecond)
	if err := c.RenewToken(ctx); err != nil {
		t.Fatal(err)
	}
	info := c.TokenInfo()
	if !info.Capped {
		t.Errorf("the renewal 2.5 s into a 4 s max TTL should be capped: %+v", info)
	}
	time.Sleep(time.Until(info.Expires) + 100*time.Millisecond)
	// The client knows when its token expires: with Vault gone, it says
	// so without a request (and the retries one would make).
	srv.Kill()
	err := c.Login(ctx)
	if !errors.Is(err, ErrLogin) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired given token: %v", err)
	}
	if strings.Contains(err.Error(), tok) {
		t.Error("the error holds the token")
	}
}

// A token file (Vault Agent's sink) is read again when Vault refuses the
// token it held: Agent has written a new one.
func TestATokenFileIsReadAgainWhenRefused(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	create := func() string {
		out := srv.API(t, "POST", "auth/token/create", map[string]any{"policies": []string{"default"}, "ttl": "1h"})
		return out["auth"].(map[string]any)["client_token"].(string)
	}
	sink := filepath.Join(t.TempDir(), "token")
	first := create()
	if err := os.WriteFile(sink, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv, TokenFile{Path: sink}, nil)
	ctx := ctxFor(t)
	if _, err := c.KVVersion(ctx, "secret/data/none"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the default policy may not read secret/: %v", err)
	}
	if err := os.WriteFile(sink, []byte(create()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.API(t, "POST", "auth/token/revoke", map[string]any{"token": first})
	// The revoked token is refused, the file read again, and the request
	// sent again with the new token: still forbidden by policy, but now
	// by the policy, not for an invalid token.
	_, err := c.KVVersion(ctx, "secret/data/none")
	if !errors.Is(err, ErrForbidden) {
		t.Fatal(err)
	}
	if info := c.TokenInfo(); info.Logins != 2 {
		t.Errorf("%d logins; want 2 (the file read again)", info.Logins)
	}
}

func TestFromEnv(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "env"})
	t.Setenv("VAULT_ADDR", srv.Addr)
	t.Setenv("VAULT_TOKEN", srv.Token)
	t.Setenv("VAULT_MAX_RETRIES", "0")
	cfg, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Auth.(EnvToken); !ok || cfg.MaxRetries != -1 {
		t.Fatalf("FromEnv: %+v", cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background(), CloseOptions{})
	s := mustRead(t, ctxFor(t), c, Mapping{Path: "secret/data/app", Prefix: "a"})
	defer s.Destroy()
	holds(t, value(t, s, "a.password"), "a.password", "env")
}

// Kubernetes auth posts {"role", "jwt"} with the service-account token
// from a file. Vault's Kubernetes method checks the token with the
// cluster's TokenReview API, which does not run here; Vault's JWT method
// takes the same request and checks the signature itself, so the test
// logs in there with a real signed token.
func TestKubernetesStyleLoginWithAJWT(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	sign := srv.JWTAuth(t, "1h")
	jwt := sign("system:serviceaccount:ns:app")
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv, Kubernetes{Mount: "jwt", Role: "app", JWTFile: f}, nil)
	if err := c.Login(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if info := c.TokenInfo(); info.TTL != time.Hour {
		t.Errorf("token %+v", info)
	}

	bad := filepath.Join(t.TempDir(), "other")
	forged := jwt[:strings.LastIndexByte(jwt, '.')+1] + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	if err := os.WriteFile(bad, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	c2, _ := newClient(t, srv, Kubernetes{Mount: "jwt", Role: "app", JWTFile: bad}, nil)
	err := c2.Login(ctxFor(t))
	if !errors.Is(err, ErrLogin) || strings.Contains(err.Error(), forged[:40]) {
		t.Errorf("a forged JWT: %v", err)
	}
}

// Many goroutines reading while the token is renewed and replaced under
// them: none sees an error, and -race sees no race.
func TestConcurrentReadsWhileTheTokenIsReplaced(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	if testing.Short() {
		t.Skip("runs 5 s")
	}
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "shared"})
	c, _ := appRoleClient(t, srv, "3s", "4s")
	ctx := ctxFor(t)
	end := time.Now().Add(5 * time.Second)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for time.Now().Before(end) {
				s, err := c.Read(ctx, Mapping{Path: "secret/data/app", Prefix: "a"})
				if err != nil {
					errs <- err
					return
				}
				if v, _ := s.Value("a.password"); !v.Equal([]byte("shared")) {
					errs <- errors.New("a read returned the wrong value")
					return
				}
				s.Destroy()
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if info := c.TokenInfo(); info.Logins < 3 {
		t.Errorf("%d logins and renewals in 5 s of 3 s tokens with a 4 s max TTL", info.Logins)
	}
}

// An empty VAULT_TOKEN is no token, as the CLI reads it: the token comes
// from ~/.vault-token then, not a login error saying VAULT_TOKEN is not
// set.
func TestFromEnvTakesAnEmptyVaultTokenForNone(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".vault-token"), []byte(srv.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("VAULT_ADDR", srv.Addr)
	for _, empty := range []string{"", " \n"} {
		t.Setenv("VAULT_TOKEN", empty)
		cfg, err := FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cfg.Auth.(TokenFile); !ok {
			t.Fatalf("VAULT_TOKEN=%q: auth %T; want the token file", empty, cfg.Auth)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(ctxFor(t))
		c.Close(context.Background(), CloseOptions{})
		if err != nil {
			t.Fatalf("VAULT_TOKEN=%q: %v", empty, err)
		}
	}
}

// A 403 for a token Vault still takes is the policy's answer (a path the
// operator took away), and a new login would get the same: the client
// checks its token (lookup-self) before it logs in again. Logging in at
// every refused request minted a token each time, left to live its TTL,
// and used up an AppRole secret ID limited to a number of uses. A token
// Vault no longer takes (revoked) is still replaced by a new login.
func TestAPolicyRefusalDoesNotLogInAgain(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "p"})
	putKV(t, srv, "other", map[string]any{"password": "p"})
	c, _ := appRoleClient(t, srv, "1h", "4h")
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "a"}
	mustRead(t, ctx, c, m).Destroy()
	srv.API(t, "PUT", "sys/policies/acl/app", map[string]any{"policy": `path "secret/data/other" { capabilities = ["read"] }`})
	for range 5 {
		if _, err := c.Read(ctx, m); !errors.Is(err, ErrForbidden) {
			t.Fatalf("a path the policy refuses: %v", err)
		}
	}
	if n := c.TokenInfo().Serial; n != 1 {
		t.Errorf("%d logins for 5 refusals of a token that stands; want the first only", n)
	}
	revokeToken(t, srv, c)
	s, err := c.Read(ctx, Mapping{Path: "secret/data/other", Prefix: "a"})
	if err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	s.Destroy()
	if n := c.TokenInfo().Serial; n != 2 {
		t.Errorf("serial %d after the token was revoked; want a second login", n)
	}
}
