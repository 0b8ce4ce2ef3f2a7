//go:build unix

package vault

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
	"github.com/secretmem/secretmem/internal/vaulttest"
	"github.com/secretmem/secretmem/secret"
)

// This file and the other *server_test.go files run against a real Vault
// dev server (internal/vaulttest); they skip when no Vault binary is found.

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a client of srv with auth (the root token when nil),
// logging at debug level into the returned buffer, closed when t ends.
func newClient(t *testing.T, srv *vaulttest.Server, auth Auth, edit func(*Config)) (*Client, *testchild.Buffer) {
	t.Helper()
	if auth == nil {
		auth = Token{Value: cell(t, srv.Token)}
	}
	logs := &testchild.Buffer{}
	return started(t, Config{Address: srv.Addr, Auth: auth, CACert: srv.CACert, Logger: debugLogger(logs)}, edit), logs
}

// holds reports whether v holds want, without printing either.
func holds(t *testing.T, v secret.Value, key, want string) {
	t.Helper()
	if !v.Equal([]byte(want)) {
		t.Errorf("%s does not hold the value written to Vault (%d bytes, want %d)", key, v.Len(), len(want))
	}
}

func value(t *testing.T, s *Secret, key string) secret.Value {
	t.Helper()
	v, ok := s.Value(key)
	if !ok {
		t.Fatalf("no key %s in %v", key, s.Keys())
	}
	return v
}

// putKV writes a KV v2 secret with the root token.
// mustRead reads m with c, failing t on an error. The caller destroys
// the Secret.
func mustRead(t *testing.T, ctx context.Context, c *Client, m Mapping) *Secret {
	t.Helper()
	s, err := c.Read(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func putKV(t *testing.T, srv *vaulttest.Server, path string, data map[string]any) {
	t.Helper()
	srv.API(t, "PUT", "secret/data/"+path, map[string]any{"data": data})
}

func TestKV2Read(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	pw := "pw-" + vaulttest.RandHex(8) + `"<&>\é`
	putKV(t, srv, "app", map[string]any{"password": pw, "port": 5432, "user": "app"})
	c, logs := newClient(t, srv, nil, nil)

	s := mustRead(t, ctxFor(t), c, Mapping{Path: "secret/data/app", Fields: map[string]string{"password": "db.password", "port": "db.port"}})
	defer s.Destroy()
	holds(t, value(t, s, "db.password"), "db.password", pw)
	holds(t, value(t, s, "db.port"), "db.port", "5432")
	if s.Version != 1 || len(s.Fields) != 2 {
		t.Errorf("version %d, %d fields; want 1 and the 2 mapped", s.Version, len(s.Fields))
	}

	all := mustRead(t, ctxFor(t), c, Mapping{Path: "secret/data/app", Prefix: "app"})
	defer all.Destroy()
	if got := strings.Join(all.Keys(), ","); got != "app.password,app.port,app.user" {
		t.Errorf("keys %s", got)
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), srv.Token) {
		t.Error("the log holds a secret")
	}
}

func TestAKVVersionBumpIsDetected(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": "one"})
	c, _ := newClient(t, srv, nil, nil)
	ctx := ctxFor(t)
	m := Mapping{Path: "secret/data/app", Prefix: "app"}

	first := mustRead(t, ctx, c, m)
	defer first.Destroy()
	if v, err := c.KVVersion(ctx, m.Path); err != nil || v != 1 {
		t.Fatalf("KVVersion before the bump: %d, %v", v, err)
	}
	putKV(t, srv, "app", map[string]any{"password": "two"})
	v, err := c.KVVersion(ctx, m.Path)
	if err != nil || v != 2 {
		t.Fatalf("KVVersion after the bump: %d, %v; want 2", v, err)
	}
	if v <= first.Version {
		t.Fatal("the bump was not seen")
	}
	second := mustRead(t, ctx, c, m)
	defer second.Destroy()
	holds(t, value(t, second, "app.password"), "app.password", "two")
	holds(t, value(t, first, "app.password"), "app.password (first read)", "one")
	if second.Version != 2 {
		t.Errorf("version %d", second.Version)
	}
	old := mustRead(t, ctx, c, Mapping{Path: m.Path, Prefix: "app", Version: 1})
	defer old.Destroy()
	holds(t, value(t, old, "app.password"), "version 1", "one")

	// A deleted latest version is not found, and says so.
	srv.API(t, "DELETE", "secret/data/app", nil)
	if _, err := c.Read(ctx, m); !errors.Is(err, ErrNotFound) {
		t.Errorf("reading a deleted version: %v", err)
	}
}

func TestKV1Read(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.API(t, "POST", "sys/mounts/kv", map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	srv.API(t, "PUT", "kv/app", map[string]any{"password": "v1-secret", "data": "not kv2"})
	c, _ := newClient(t, srv, nil, nil)
	s := mustRead(t, ctxFor(t), c, Mapping{Path: "kv/app", Prefix: "k"})
	defer s.Destroy()
	holds(t, value(t, s, "k.password"), "k.password", "v1-secret")
	holds(t, value(t, s, "k.data"), "k.data", "not kv2")
	if s.Lease.ID != "" || s.Version != 0 {
		t.Errorf("a KV v1 secret has no lease and no version: %+v, %d", s.Lease, s.Version)
	}
}

// seedAppRole makes the AppRole role "app" (vaulttest.ServicePolicy) whose
// tokens live ttl, renewable up to maxTTL, and returns its role and
// secret IDs.
func seedAppRole(t *testing.T, srv *vaulttest.Server, ttl, maxTTL string) (roleID, secretID string) {
	t.Helper()
	return srv.AppRole(t, vaulttest.AppRole{TTL: ttl, MaxTTL: maxTTL})
}

// appRoleClient seeds AppRole (see seedAppRole) and returns a client
// that logs in with it.
func appRoleClient(t *testing.T, srv *vaulttest.Server, ttl, maxTTL string) (*Client, *testchild.Buffer) {
	t.Helper()
	roleID, secretID := seedAppRole(t, srv, ttl, maxTTL)
	return newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, secretID)}, nil)
}

func TestAppRoleLogin(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	roleID, secretID := seedAppRole(t, srv, "1h", "4h")
	putKV(t, srv, "app", map[string]any{"password": "from-approle"})
	ctx := ctxFor(t)

	t.Run("secret ID from a cell", func(t *testing.T) {
		c, logs := newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, secretID)}, nil)
		s := mustRead(t, ctx, c, Mapping{Path: "secret/data/app", Prefix: "a"})
		defer s.Destroy()
		holds(t, value(t, s, "a.password"), "a.password", "from-approle")
		info := c.TokenInfo()
		if !info.Present || !info.Renewable || info.TTL != time.Hour || info.Logins != 1 {
			t.Errorf("token %+v; want a renewable 1h token from one login", info)
		}
		if strings.Contains(logs.String(), secretID) {
			t.Error("the log holds the secret ID")
		}
	})
	t.Run("secret ID from a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "secret-id")
		if err := os.WriteFile(f, []byte(secretID+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _ := newClient(t, srv, AppRole{RoleID: roleID, SecretIDFile: f}, nil)
		if err := c.Login(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a wrong secret ID", func(t *testing.T) {
		wrong := "sid-wrong-" + vaulttest.RandHex(8)
		c, _ := newClient(t, srv, AppRole{RoleID: roleID, SecretID: cell(t, wrong)}, nil)
		err := c.Login(ctx)
		if !errors.Is(err, ErrLogin) {
			t.Fatalf("got %v, want ErrLogin", err)
		}
		if strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "invalid role or secret ID") ||
			!strings.Contains(err.Error(), srv.Addr) || !strings.Contains(err.Error(), "auth/approle/login") {
			t.Errorf("the error should name address, path and Vault's reason, and not the secret ID: %v", err)
		}
	})
}

// Pins what wipingConn assumes of net/http: each connection's first Read
// is its bufio.Reader filling itself from the start (so the read buffer is
// learned), and the transport reads ahead once a body is done (so the
// last response is cleared without waiting for the next). Over TLS, the
// record buffer crypto/tls decrypted into is cleared as well. A Go
// release that changes any of it fails here.
func TestConnectionBuffersAreClearedAfterAResponse(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			srv := vaulttest.Start(t, vaulttest.Options{TLS: tls})
			pw := "clear-me-" + vaulttest.RandHex(8)
			putKV(t, srv, "app", map[string]any{"password": pw})
			c, _ := newClient(t, srv, nil, nil)
			// What each Read saw while idle, from the reading goroutine.
			type seen struct {
				learned, clean, secret bool
			}
			var (
				mu    sync.Mutex
				reads []seen
			)
			idle := func(conn *wipingConn) {
				records := []byte(nil)
				if conn.tlsIn.raw != nil {
					records = conn.tlsIn.records()
				}
				conn.mu.Lock()
				buf := conn.buf
				conn.mu.Unlock()
				mu.Lock()
				reads = append(reads, seen{learned: len(buf) == connBuffer, clean: zero(buf) && zero(records),
					secret: bytes.Contains(buf, []byte(pw)) || bytes.Contains(records, []byte(pw))})
				mu.Unlock()
			}
			capture := func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
				return func(ctx context.Context, network, addr string) (net.Conn, error) {
					conn, err := dial(ctx, network, addr)
					if err == nil {
						wc := conn.(*wipingConn)
						if tls && wc.tlsIn.raw == nil {
							t.Error("a TLS connection without its record buffer")
						}
						wc.idle = idle
					}
					return conn, err
				}
			}
			c.tr.DialContext = capture(c.tr.DialContext)
			c.tr.DialTLSContext = capture(c.tr.DialTLSContext)
			s := mustRead(t, ctxFor(t), c, Mapping{Path: "secret/data/app", Prefix: "a"})
			defer s.Destroy()
			// The read-ahead after the response is the Read that matters:
			// the last one, once the reads have stopped.
			time.Sleep(300 * time.Millisecond)
			mu.Lock()
			n := len(reads)
			var last seen
			if n > 0 {
				last = reads[n-1]
			}
			mu.Unlock()
			if n < 2 {
				t.Fatalf("%d reads: no read-ahead after the response", n)
			}
			switch {
			case !last.learned:
				t.Fatal("no read-ahead with a learned read buffer: net/http's reads changed")
			case !last.clean:
				t.Errorf("an idle connection's buffers are not clear (the secret among them: %v)", last.secret)
			}
		})
	}
}
