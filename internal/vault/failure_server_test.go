//go:build unix

package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
)

// wantErr checks err's sentinel, that it names the address and path, and
// that it holds none of the given secrets.
func wantErr(t *testing.T, err, want error, addr, path string, secrets ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) || !strings.Contains(msg, path) {
		t.Errorf("the error should name %s and %s: %s", addr, path, msg)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("the error holds a secret: %s", msg)
		}
	}
}

func noRetries(c *Config) { c.MaxRetries = -1 }

func TestFailuresAreClearAndLoseNothing(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	big := strings.Repeat("x", 40<<10)
	putKV(t, srv, "app", map[string]any{"password": "keep-me"})
	putKV(t, srv, "big", map[string]any{"blob": big})
	limited := srv.API(t, "POST", "auth/token/create", map[string]any{"policies": []string{"default"}})
	limitedTok := limited["auth"].(map[string]any)["client_token"].(string)
	ctx := ctxFor(t)

	c, _ := newClient(t, srv, nil, func(c *Config) { noRetries(c); c.MaxBody = 16 << 10 })
	good := mustRead(t, ctx, c, Mapping{Path: "secret/data/app", Prefix: "a"})
	defer good.Destroy()
	stillGood := func(t *testing.T) {
		t.Helper()
		holds(t, value(t, good, "a.password"), "a.password", "keep-me")
		if _, err := c.KVVersion(ctx, "secret/data/app"); err != nil {
			t.Errorf("the client no longer works: %v", err)
		}
	}

	t.Run("403", func(t *testing.T) {
		lc, _ := newClient(t, srv, Token{Value: cell(t, limitedTok)}, noRetries)
		_, err := lc.Read(ctx, Mapping{Path: "secret/data/app"})
		wantErr(t, err, ErrForbidden, srv.Addr, "secret/data/app", limitedTok)
		if !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("Vault's reason is missing: %v", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		_, err := c.Read(ctx, Mapping{Path: "secret/data/nothing-here"})
		wantErr(t, err, ErrNotFound, srv.Addr, "secret/data/nothing-here", srv.Token)
		stillGood(t)
	})
	t.Run("a body over the cap", func(t *testing.T) {
		_, err := c.Read(ctx, Mapping{Path: "secret/data/big"})
		wantErr(t, err, ErrTooLarge, srv.Addr, "secret/data/big", big[:100])
		stillGood(t)
	})
	t.Run("a mapped field that is missing", func(t *testing.T) {
		_, err := c.Read(ctx, Mapping{Path: "secret/data/app", Fields: map[string]string{"password": "p", "user": "u"}})
		wantErr(t, err, ErrMissingField, srv.Addr, "secret/data/app", "keep-me")
		if !strings.Contains(err.Error(), `"user"`) {
			t.Errorf("the error should name the missing field: %v", err)
		}
	})
	t.Run("429", func(t *testing.T) {
		srv.API(t, "POST", "sys/quotas/rate-limit/slow", map[string]any{"rate": 1, "path": "secret/"})
		defer srv.API(t, "DELETE", "sys/quotas/rate-limit/slow", nil)
		var err error
		for range 5 {
			if _, err = c.KVVersion(ctx, "secret/data/app"); err != nil {
				break
			}
		}
		wantErr(t, err, ErrRateLimited, srv.Addr, "secret/metadata/app", srv.Token)
		if !Temporary(err) {
			t.Error("429 is temporary")
		}
	})
	t.Run("503 while sealed", func(t *testing.T) {
		srv.API(t, "PUT", "sys/seal", nil)
		_, err := c.Read(ctx, Mapping{Path: "secret/data/app"})
		wantErr(t, err, ErrServer, srv.Addr, "secret/data/app", srv.Token)
		if !Temporary(err) || !strings.Contains(err.Error(), "Vault is sealed") {
			t.Errorf("503 sealed is temporary and says so: %v", err)
		}
		holds(t, value(t, good, "a.password"), "a.password", "keep-me")
	})
}

func TestMalformedJSONIsRefused(t *testing.T) {
	// A real Vault never sends broken JSON; a proxy in the way might.
	const leaked = "s3cr3t-half"
	for name, body := range map[string]string{
		"cut off":    `{"data":{"data":{"password":"` + leaked,
		"not JSON":   `<html>` + leaked + `</html>`,
		"wrong kind": `{"data":["` + leaked + `"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
			}))
			defer ts.Close()
			c, err := New(Config{Address: ts.URL, Auth: Token{Value: cell(t, "tok")}, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background(), CloseOptions{})
			c.install(tokenState{cell: cell(t, "tok")}) // no lookup against this server
			_, err = c.Read(ctxFor(t), Mapping{Path: "secret/data/app"})
			wantErr(t, err, ErrMalformed, ts.URL, "secret/data/app", leaked)
		})
	}
}

// A redirect to another host would take the token there: refused. One to
// the same origin is followed.
func TestRedirects(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "p"})
	vault, _ := url.Parse(srv.Addr)
	proxy := httputil.NewSingleHostReverseProxy(vault)
	var front *httptest.Server
	front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/away/"):
			// Another host: the same Vault under the name localhost.
			http.Redirect(w, r, "http://localhost:"+vault.Port()+"/v1/"+strings.TrimPrefix(r.URL.Path, "/v1/away/"), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/v1/here/"):
			http.Redirect(w, r, front.URL+"/v1/"+strings.TrimPrefix(r.URL.Path, "/v1/here/"), http.StatusTemporaryRedirect)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer front.Close()
	c, _ := newClient(t, srv, nil, func(c *Config) { c.Address = front.URL; noRetries(c) })
	ctx := ctxFor(t)

	s, err := c.Read(ctx, Mapping{Path: "here/secret/data/app", Prefix: "a", KV: 2})
	if err != nil {
		t.Fatalf("a same-origin redirect: %v", err)
	}
	s.Destroy()
	_, err = c.Read(ctx, Mapping{Path: "away/secret/data/app", KV: 2})
	wantErr(t, err, ErrRedirect, front.URL, "away/secret/data/app", srv.Token)
	if !strings.Contains(err.Error(), "localhost:"+vault.Port()) {
		t.Errorf("the error should name where Vault redirected: %v", err)
	}
	nc, _ := newClient(t, srv, nil, func(c *Config) { c.Address = front.URL; c.DisableRedirects = true })
	if _, err := nc.Read(ctx, Mapping{Path: "here/secret/data/app", KV: 2}); !errors.Is(err, ErrRedirect) {
		t.Errorf("with redirects disabled: %v", err)
	}
}

// Vault killed mid-run: reads fail with an error naming address and path
// and the cells read before stay intact; once Vault is back (a dev server
// comes back empty, so the test seeds it again) the client recovers: its
// token is gone, so it logs in again on the first 403.
func TestVaultKilledAndRestarted(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	roleID, secretID := "role-"+vaulttest.RandHex(4), "sid-"+vaulttest.RandHex(12)
	seed := func() { // fixed IDs: the restarted server is seeded the same way
		srv.AppRole(t, vaulttest.AppRole{Policy: `path "secret/*" { capabilities = ["read"] }`, TTL: "1h",
			RoleID: roleID, SecretID: secretID})
		putKV(t, srv, "app", map[string]any{"password": "survives"})
	}
	seed()
	c, _ := newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, secretID)},
		func(c *Config) {
			c.MaxRetries = 1
			c.Backoff = Backoff{Min: 50 * time.Millisecond, Max: 100 * time.Millisecond}
		})
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "a"}
	before := mustRead(t, ctx, c, m)
	defer before.Destroy()

	srv.Kill()
	_, err := c.Read(ctx, m)
	wantErr(t, err, ErrUnreachable, srv.Addr, "secret/data/app", secretID)
	if !Temporary(err) {
		t.Error("an unreachable Vault is temporary")
	}
	holds(t, value(t, before, "a.password"), "a.password", "survives")

	// A watcher's retry loop, started while Vault is down, gets through
	// once it is back. (A dev server comes back empty: until the test has
	// seeded it again, its 403 means "not back yet", as a real Vault's
	// ErrUnreachable would.)
	var seeded atomic.Bool
	got := make(chan error, 1)
	go func() {
		got <- Retry(ctx, Backoff{Min: 100 * time.Millisecond, Max: 300 * time.Millisecond}, 0, func(ctx context.Context) error {
			s, err := c.Read(ctx, m)
			if err == nil {
				defer s.Destroy()
				holds(t, value(t, s, "a.password"), "a.password after the restart", "survives")
			}
			if err != nil && !seeded.Load() && errors.Is(err, ErrForbidden) {
				return &Error{Op: "read", Err: ErrUnreachable}
			}
			return err
		})
	}()
	time.Sleep(500 * time.Millisecond)
	srv.Restart(t)
	seed()
	seeded.Store(true)
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("after the restart: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no recovery 30 s after the restart")
	}
	if info := c.TokenInfo(); info.Logins < 2 {
		t.Errorf("%d logins: the token the restart lost must be replaced", info.Logins)
	}
}

func TestTLS(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{TLS: true})
	ctx := ctxFor(t)
	check := func(t *testing.T, edit func(*Config)) error {
		c, _ := newClient(t, srv, nil, func(c *Config) { c.CACert = ""; noRetries(c); edit(c) })
		return c.Login(ctx)
	}
	t.Run("verified against VAULT_CACERT", func(t *testing.T) {
		if err := check(t, func(c *Config) { c.CACert = srv.CACert }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("verified against VAULT_CAPATH", func(t *testing.T) {
		dir := t.TempDir()
		pem, _ := os.ReadFile(srv.CACert)
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pem, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := check(t, func(c *Config) { c.CAPath = dir }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refused without the CA: verification is on by default", func(t *testing.T) {
		err := check(t, func(*Config) {})
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "set VAULT_CACERT") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("refused for another name", func(t *testing.T) {
		err := check(t, func(c *Config) { c.CACert = srv.CACert; c.TLSServerName = "vault.example.com" })
		if !errors.Is(err, ErrUnreachable) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("VAULT_SKIP_VERIFY", func(t *testing.T) {
		t.Setenv("VAULT_ADDR", srv.Addr)
		t.Setenv("VAULT_SKIP_VERIFY", "true")
		cfg, err := FromEnv()
		if err != nil || !cfg.SkipVerify {
			t.Fatalf("%+v %v", cfg, err)
		}
		if err := check(t, func(c *Config) { c.SkipVerify = true }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("VAULT_CACERT from the environment", func(t *testing.T) {
		t.Setenv("VAULT_ADDR", srv.Addr)
		t.Setenv("VAULT_CACERT", srv.CACert)
		t.Setenv("VAULT_TOKEN", srv.Token)
		cfg, err := FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx, CloseOptions{})
		if err := c.Login(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
