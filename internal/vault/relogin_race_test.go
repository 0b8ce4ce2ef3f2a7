//go:build unix

package vault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
)

// A request refused because its token was revoked, while another
// goroutine logged in again (KeepTokenAlive, a concurrent request): the
// token to ask about is the one the request carried, not the new one,
// which stands. Asking about the new one took the 403 for the policy's
// answer and failed a request the new token would serve. A proxy in front
// of a real Vault logs in anew just before it passes the 403 on.
func TestA403UnderAnOlderTokenIsRetriedWithTheNewOne(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "p"})
	roleID, secretID := seedAppRole(t, srv, "1h", "4h")
	target, err := url.Parse(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var (
		c     *Client
		armed atomic.Bool
	)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.StatusCode == http.StatusForbidden && strings.HasSuffix(r.Request.URL.Path, "/secret/data/app") && armed.Swap(false) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.refresh(ctx, c.tokenGen(), true); err != nil {
				t.Errorf("the concurrent login: %v", err)
			}
		}
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	c, _ = newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, secretID)}, func(cfg *Config) { cfg.Address = proxy.URL })
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "a"}
	mustRead(t, ctx, c, m).Destroy()
	revokeToken(t, srv, c)
	armed.Store(true)
	s, err := c.Read(ctx, m)
	if armed.Load() {
		t.Fatal("the proxy saw no 403 for the revoked token")
	}
	if err != nil {
		if errors.Is(err, ErrForbidden) {
			t.Fatalf("a read refused under a revoked token, with a new token in place: %v", err)
		}
		t.Fatal(err)
	}
	s.Destroy()
	if n := c.TokenInfo().Serial; n != 2 {
		t.Errorf("serial %d; want 2 (the first login and the concurrent one, no third)", n)
	}
}

// A token that may not look itself up (no default policy), refused a
// path: the look-up's own 403 carries no Client token and is not looked
// up or logged in for again, so each refused request ends with at most
// one new login, and neither the error nor the log holds a token or the
// secret ID.
func TestARefusedLookupSelfDoesNotRecurse(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "p"})
	roleID, secretID := seedAppRole(t, srv, "1h", "4h")
	srv.API(t, "POST", "auth/approle/role/app", map[string]any{"token_policies": []string{"app"},
		"token_no_default_policy": true, "token_ttl": "1h", "token_max_ttl": "4h"})
	c, logs := newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, secretID)}, nil)
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "a"}
	mustRead(t, ctx, c, m).Destroy()
	srv.API(t, "PUT", "sys/policies/acl/app", map[string]any{"policy": `path "secret/data/other" { capabilities = ["read"] }`})
	var tokens []string
	for range 3 {
		b, _ := currentCell(c).Reveal() // test plumbing: to look for it in the error
		tokens = append(tokens, string(b))
		_, err := c.Read(ctx, m)
		if !errors.Is(err, ErrForbidden) {
			t.Fatalf("a path the policy refuses: %v", err)
		}
		for _, tok := range append(tokens, secretID) {
			if strings.Contains(err.Error(), tok) {
				t.Fatal("the error holds a token or the secret ID")
			}
		}
	}
	if n := c.TokenInfo().Serial; n > 4 {
		t.Errorf("serial %d after 3 refusals; want at most one login each", n)
	}
	for _, tok := range append(tokens, secretID) {
		if strings.Contains(logs.String(), tok) {
			t.Fatal("the log holds a token or the secret ID")
		}
	}
}

// Eight reads refused at once under a revoked token: each looks the
// token up and finds it gone, but the logins they ask for are one.
func TestConcurrent403sLogInOnce(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "p"})
	c, _ := appRoleClient(t, srv, "1h", "4h")
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "a"}
	mustRead(t, ctx, c, m).Destroy()
	revokeToken(t, srv, c)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := c.Read(ctx, m)
			if err == nil {
				s.Destroy()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := c.TokenInfo().Serial; n != 2 {
		t.Errorf("serial %d after 8 reads refused under one revoked token; want one new login (2)", n)
	}
}
