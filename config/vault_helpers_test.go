//go:build unix

package config

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
	"github.com/secretmem/secretmem/secret"
)

// Helpers of the Vault source's tests (vault_*_test.go).

func vaultCell(t testing.TB, s string) secret.Value {
	t.Helper()
	v, err := secret.FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	return v
}

// rootConn connects with the server's root token, from a cell.
func rootConn(t testing.TB, srv *vaulttest.Server) VaultConn {
	return VaultConn{Address: srv.Addr, CACert: srv.CACert, NoEnv: true, Auth: VaultToken{Value: vaultCell(t, srv.Token)}}
}

func putKV(t testing.TB, srv *vaulttest.Server, path string, data map[string]any) {
	t.Helper()
	srv.API(t, "POST", "secret/data/"+path, map[string]any{"data": data})
}

// appRole makes a role "app" whose tokens live ttl (renewable to maxTTL)
// under a policy reading the KV mount, the database engine's credentials
// and, when metadata is set, KV metadata; it returns its role and secret
// IDs.
func appRole(t testing.TB, srv *vaulttest.Server, ttl, maxTTL string, metadata bool) (string, string) {
	t.Helper()
	policy := `path "secret/data/*" { capabilities = ["read"] }
path "database/creds/app" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }`
	if metadata {
		policy += "\n" + `path "secret/metadata/*" { capabilities = ["read"] }`
	}
	return srv.AppRole(t, vaulttest.AppRole{Policy: policy, TTL: ttl, MaxTTL: maxTTL})
}

// databaseStack starts PostgreSQL and Vault, with the database engine
// issuing users that live ttl (renewable to maxTTL) and an AppRole whose
// tokens live tokTTL (to tokMax); the connection logs in with it.
func databaseStack(t testing.TB, ttl, maxTTL, tokTTL, tokMax string) (*vaulttest.Postgres, *vaulttest.Server, VaultConn) {
	t.Helper()
	pg, srv := vaulttest.StartWithDatabase(t, ttl, maxTTL)
	roleID, secretID := appRole(t, srv, tokTTL, tokMax, true)
	return pg, srv, VaultConn{Address: srv.Addr, NoEnv: true,
		Auth: VaultAppRole{RoleID: roleID, SecretID: vaultCell(t, secretID)}}
}

// pairLogsIn logs in to pg with the database pair (db.username and
// db.password) of one Snapshot of cfg, and fails t when the pair cannot
// be read: every generation must hold one.
func pairLogsIn(t testing.TB, cfg *Config, pg *vaulttest.Postgres) error {
	t.Helper()
	sn := cfg.Snapshot()
	u, err1 := sn.Secret("db.username").Reveal()
	p, err2 := sn.Secret("db.password").Reveal()
	if err1 != nil || err2 != nil {
		t.Fatalf("reading the pair: %v, %v", err1, err2)
	}
	_, err := pg.Query(string(u), string(p), "SELECT 1")
	return err
}

// quietLogger logs into a buffer nobody reads: every record is still
// formatted (a logged value's LogValue runs as in a service), and the
// warnings a test sets off on purpose stay out of its output.
func quietLogger() Option { return Logger(slog.New(slog.NewTextHandler(new(bytes.Buffer), nil))) }

// debugLogger logs every level as text into w, for tests that search the
// log for a secret: the debug lines are where a careless one would be.
func debugLogger(w io.Writer) Option {
	return Logger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hangNext makes the provider's next call hang until release.
func (p *hangingProvider) hangNext() { p.free.Store(p.calls.Load()) }
