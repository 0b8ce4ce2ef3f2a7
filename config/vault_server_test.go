//go:build unix

package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
	"github.com/secretmem/secretmem/internal/vault"
	"github.com/secretmem/secretmem/internal/vaulttest"
)

// These tests run config.Vault against a real Vault dev server
// (internal/vaulttest; they skip when no Vault binary is found, and CI
// builds one) and, for dynamic credentials, a real PostgreSQL.

// A file gives the plain settings, Vault the secrets: KV v2 fields mapped
// one by one, a whole path under a prefix (a nested object flattened),
// and numbers kept as Vault sent them. Every Vault field is a secret.
func TestVaultKVIntoCells(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	pw, key := marker(t), marker(t)
	putKV(t, srv, "app", map[string]any{"password": pw, "pin": 123, "unused": "x"})
	putKV(t, srv, "payments", map[string]any{"api_key": key, "webhook": map[string]any{"signing": "whs-" + pw}})
	file := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), "db:\n  host: db.internal\n  password: overridden\n", 0o600)
	cfg := loaded(t, File(file), Vault(rootConn(t, srv),
		VaultPath{Path: "secret/data/app", Fields: map[string]string{"password": "db.password", "pin": "db.pin"}},
		VaultPath{Path: "/secret/data/payments/", Prefix: "payments"},
	))
	wantSecret(t, cfg, "db.password", pw)
	wantSecret(t, cfg, "db.pin", "123")
	wantSecret(t, cfg, "payments.api_key", key)
	wantSecret(t, cfg, "payments.webhook.signing", "whs-"+pw)
	if cfg.String("db.host") != "db.internal" {
		t.Errorf("db.host = %q", cfg.String("db.host"))
	}
	if cfg.Exists("db.unused") || cfg.Exists("unused") {
		t.Error("an unmapped field became a key")
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "cfg", cfg)
	if strings.Contains(out.String(), pw) || strings.Contains(out.String(), key) {
		t.Error("the logged config holds a Vault secret")
	}
}

// Load fails with an error that names the address and the path and no
// value, and no cell survives: Vault down, a path that is not there, a
// field that is not there, a token without the right, and two paths
// giving one key.
func TestVaultLoadFailures(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	pw := marker(t)
	putKV(t, srv, "app", map[string]any{"password": pw})
	putKV(t, srv, "other", map[string]any{"password": pw})
	_, _ = appRole(t, srv, "1h", "2h", false)
	limited := srv.API(t, "POST", "auth/token/create", map[string]any{"policies": []string{"app"}, "ttl": "1h"})
	limitedTok := limited["auth"].(map[string]any)["client_token"].(string)
	// Port 1 (tcpmux) has no listener, and no test binds it: a free port
	// found now may be a Vault or PostgreSQL of another test's by the
	// time Load dials it.
	down := "http://127.0.0.1:1"
	type loadCase struct {
		name  string
		conn  VaultConn
		paths []VaultPath
		is    error
		says  []string
	}
	cases := []loadCase{
		{"vault down", VaultConn{Address: down, NoEnv: true, Auth: VaultToken{Value: vaultCell(t, srv.Token)}},
			[]VaultPath{{Path: "secret/data/app"}}, vault.ErrUnreachable, []string{down, "secret/data/app"}},
		{"no such path", rootConn(t, srv), []VaultPath{{Path: "secret/data/nope"}}, vault.ErrNotFound, []string{srv.Addr, "secret/data/nope"}},
		{"no such field", rootConn(t, srv), []VaultPath{{Path: "secret/data/app", Fields: map[string]string{"pasword": "db.password"}}},
			vault.ErrMissingField, []string{"pasword"}},
		{"forbidden", VaultConn{Address: srv.Addr, NoEnv: true, Auth: VaultToken{Value: vaultCell(t, limitedTok)}},
			[]VaultPath{{Path: "sys/config/state/sanitized"}}, vault.ErrForbidden, []string{"sys/config/state/sanitized"}},
		{"one key twice", rootConn(t, srv), []VaultPath{{Path: "secret/data/app", Prefix: "db"}, {Path: "secret/data/other", Prefix: "db"}},
			ErrReference, []string{"db.password", "secret/data/app", "secret/data/other"}},
	}
	before := liveCells() // the tokens' cells are the test's own
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(Vault(c.conn, c.paths...))
			if err == nil {
				cfg.Close()
				t.Fatal("Load succeeded")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error is not %v: %v", c.is, err)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not name %q: %v", s, err)
				}
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), srv.Token) {
				t.Error("the error holds a secret")
			}
		})
	}
	if n := liveCells(); n != before {
		t.Errorf("%d cells live after failed loads, %d before", n, before)
	}
}

// A token taken from VAULT_TOKEN is unset (and wiped) once Load has it in
// a cell, as every environment secret is.
func TestVaultTokenFromTheEnvironmentIsWiped(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	t.Setenv("VAULT_ADDR", srv.Addr)
	t.Setenv("VAULT_TOKEN", srv.Token)
	cfg := loaded(t, Vault(VaultConn{}, VaultPath{Path: "secret/data/app", Prefix: "db"}))
	if _, set := os.LookupEnv("VAULT_TOKEN"); set {
		t.Error("VAULT_TOKEN is still set after Load")
	}
	if !cfg.Secret("db.password").Alive() {
		t.Error("db.password is not loaded")
	}
}

// AppRole: the source logs in, keeps its token (TTL 2 s, max 4 s) alive
// by renewals and new logins while the Config lives, and Watch follows a
// KV version bump, through the data when the token may not read KV
// metadata. The old value stays readable for the grace period.
func TestVaultWatchFollowsVersionsWithAppRole(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for tokens to expire, about 8 s")
	}
	for _, metadata := range []bool{true, false} {
		t.Run(map[bool]string{true: "metadata", false: "no-metadata"}[metadata], func(t *testing.T) {
			t.Parallel()
			srv := vaulttest.Start(t, vaulttest.Options{})
			roleID, secretID := appRole(t, srv, "2s", "4s", metadata)
			first, second := marker(t), marker(t)
			putKV(t, srv, "app", map[string]any{"password": first})
			var logs testchild.Buffer
			cfg := loaded(t, Vault(VaultConn{Address: srv.Addr, NoEnv: true,
				Auth: VaultAppRole{RoleID: roleID, SecretID: vaultCell(t, secretID)}},
				VaultPath{Path: "secret/data/app", Fields: map[string]string{"password": "db.password"}}),
				PollInterval(200*time.Millisecond), GracePeriod(time.Hour), Logger(slog.New(slog.NewTextHandler(&logs, nil))))
			old := cfg.Secret("db.password")
			var reloads atomic.Int32
			if err := cfg.Watch(context.Background(), func(err error) {
				if err != nil {
					t.Errorf("reload: %v", err)
				}
				reloads.Add(1)
			}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(6 * time.Second) // past the token's max TTL: a new login
			if g, n := cfg.Status().Generation, reloads.Load(); g != 1 || n != 0 {
				// A probe must see what the load read as unchanged.
				t.Fatalf("generation %d after %d reloads before any change", g, n)
			}
			putKV(t, srv, "app", map[string]any{"password": second})
			waitUntil(t, 10*time.Second, "the new version is served", func() bool { return cfg.Secret("db.password").Equal([]byte(second)) })
			if st := cfg.Status(); st.Generation != 2 || len(st.Changed) != 1 || st.Changed[0] != "db.password" {
				t.Errorf("status after the bump: generation %d, changed %v", st.Generation, st.Changed)
			}
			if !old.Equal([]byte(first)) {
				t.Error("the replaced cell is not readable in its grace period")
			}
			for _, s := range []string{first, second, secretID} {
				if strings.Contains(logs.String(), s) {
					t.Error("the log holds a secret")
				}
			}
		})
	}
}

// The database engine issues PostgreSQL credentials that live 9 s,
// renewable to 18 s. Under Watch the source renews the lease, reads a new
// pair when Vault caps the renewal, and swaps both keys in one
// generation: a client logging in with each Snapshot's pair never fails
// and never sees a user with another's password. A reload for another
// reason (a KV bump) keeps the pair. RevokeOnClose ends the pair at
// Close. A lease is renewed at two thirds of its TTL, so the last third
// (3 s) is what a loaded machine has to renew it in: with 3 s leases it
// was 1 s, and in the shake a renewal came after the lease had ended
// ("lease not found"), failing logins and the KV bump's reload.
func TestVaultDatabaseCredentialsRotateUnderAService(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("rotates for about 25 s")
	}
	pg, srv, conn := databaseStack(t, "9s", "18s", "1h", "2h")
	conn.RevokeOnClose = true
	putKV(t, srv, "app", map[string]any{"api_key": marker(t)})
	cfg, err := Load(Vault(conn,
		VaultPath{Path: "database/creds/app", Fields: map[string]string{"username": "db.user", "password": "db.password"}},
		VaultPath{Path: "secret/data/app", Prefix: "app"}),
		PollInterval(time.Second), GracePeriod(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			cfg.Close()
		}
	}()
	rotated := make(chan []string, 16)
	if err := cfg.Watch(context.Background(), func(err error) {
		if err != nil {
			t.Errorf("reload: %v", err)
			return
		}
		rotated <- cfg.Status().Changed
	}); err != nil {
		t.Fatal(err)
	}
	var (
		ok, bad atomic.Int32
		users   sync.Map
		stop    atomic.Bool
		done    = make(chan struct{})
	)
	defer func() { stop.Store(true); <-done }() // also when the test fails
	// The service: a new connection with the current pair, over and over.
	go func() {
		defer close(done)
		for !stop.Load() {
			sn := cfg.Snapshot()
			user, err1 := sn.Secret("db.user").Reveal()
			pw, err2 := sn.Secret("db.password").Reveal()
			if err1 != nil || err2 != nil {
				bad.Add(1)
				t.Errorf("reading the pair: %v, %v", err1, err2)
				return
			}
			users.Store(string(user), string(pw))
			if got, err := pg.Query(string(user), string(pw), "SELECT current_user"); err != nil || got != string(user) {
				bad.Add(1)
				t.Errorf("logging in with the current pair (generation %d): %v", sn.Generation(), err)
			} else {
				ok.Add(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	firstUser, _ := cfg.Secret("db.user").Reveal()
	time.Sleep(1500 * time.Millisecond)
	putKV(t, srv, "app", map[string]any{"api_key": marker(t)}) // a reload for another reason
	changed := <-rotated
	if len(changed) != 1 || changed[0] != "app.api_key" {
		t.Errorf("the KV bump changed %v; want [app.api_key]", changed)
	}
	if u, _ := cfg.Secret("db.user").Reveal(); string(u) != string(firstUser) {
		t.Error("a reload for a KV bump issued new database credentials")
	}
	rotations := 0
	deadline := time.After(60 * time.Second)
	for rotations < 2 {
		select {
		case changed := <-rotated:
			if len(changed) == 2 && changed[0] == "db.password" && changed[1] == "db.user" {
				rotations++
			} else {
				t.Errorf("a rotation changed %v", changed)
			}
		case <-deadline:
			t.Fatalf("%d rotations in 60 s", rotations)
		}
	}
	time.Sleep(500 * time.Millisecond) // the service logs in with the last pair too
	stop.Store(true)
	<-done
	if bad.Load() != 0 || ok.Load() < 20 {
		t.Errorf("%d logins failed, %d succeeded across %d rotations", bad.Load(), ok.Load(), rotations)
	}
	n := 0
	users.Range(func(any, any) bool { n++; return true })
	if n < 3 {
		t.Errorf("%d users seen; want the first and two rotations", n)
	}
	user, _ := cfg.Secret("db.user").Reveal()
	pw, _ := cfg.Secret("db.password").Reveal()
	closed = true
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Query(string(user), string(pw), "SELECT 1"); err == nil {
		t.Error("the current pair still logs in after Close with RevokeOnClose")
	}
}

// Vault killed mid-run: the current cells keep serving, the failures show
// in Status and Health, and once Vault is back (a dev server forgets
// everything: seeded again) Watch serves its values.
func TestVaultDownAndBack(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t, vaulttest.Options{})
	first, second := marker(t), marker(t)
	putKV(t, srv, "app", map[string]any{"password": first})
	cfg := watched(t, nil, Vault(rootConn(t, srv), VaultPath{Path: "secret/data/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), RetryBackoff(50*time.Millisecond, 200*time.Millisecond), quietLogger())
	srv.Kill()
	waitUntil(t, 10*time.Second, "a failed reload is reported", func() bool { return cfg.Status().Failures >= 2 })
	st := cfg.Status()
	if !errors.Is(st.LastError, vault.ErrUnreachable) || !strings.Contains(st.LastError.Error(), srv.Addr) {
		t.Errorf("last error: %v", st.LastError)
	}
	if !cfg.Secret("db.password").Equal([]byte(first)) {
		t.Error("the current value is not served while Vault is down")
	}
	srv.Restart(t)
	putKV(t, srv, "app", map[string]any{"password": second})
	waitUntil(t, 10*time.Second, "the value from the restarted Vault is served", func() bool {
		return cfg.Secret("db.password").Equal([]byte(second))
	})
	waitUntil(t, 5*time.Second, "the failures are cleared", func() bool { return cfg.Status().Failures == 0 })
}

// A reload that fails or is abandoned after the source kept a good
// lease's cells must leave those cells to the configuration still serving
// them: the failed load's cleanup destroys only what it made. Only the
// reload that hangs is given a deadline: the others must succeed, and a
// 300 ms ReloadTimeout failed one that was merely slow.
func TestVaultFailedReloadKeepsLeasedCells(t *testing.T) {
	t.Parallel()
	pg, srv := vaulttest.StartWithDatabase(t, "1h", "2h")
	putKV(t, srv, "app", map[string]any{"api_key": marker(t)})
	hp := newHangingProvider(1 << 30)
	cfg := loaded(t, Vault(rootConn(t, srv),
		VaultPath{Path: "database/creds/app", Prefix: "db"},
		VaultPath{Path: "secret/data/app", Prefix: "app"}),
		Source(hp, nil))
	user, pw := cfg.Secret("db.username"), cfg.Secret("db.password")
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cfg.Secret("db.username") != user || cfg.Status().Generation != 1 {
		t.Fatal("a reload with nothing new replaced the database credentials")
	}
	// A reload abandoned after it read: its state is built and thrown
	// away, and only the cells it made may go with it.
	hp.hangNext()
	if err := cfg.Reload(hp.deadlineAtHang()); !errors.Is(err, ErrReloadTimeout) {
		t.Fatalf("a reload stuck in a read: %v", err)
	}
	hp.release()
	waitUntil(t, 5*time.Second, "the abandoned reload ends", func() bool { return cfg.Reload(context.Background()) == nil })
	if !user.Alive() || !pw.Alive() {
		t.Fatal("an abandoned reload destroyed the credentials still in use")
	}
	srv.API(t, "DELETE", "secret/metadata/app", nil)
	if err := cfg.Reload(context.Background()); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("reload after the KV path was deleted: %v", err)
	}
	if !user.Alive() || !pw.Alive() {
		t.Fatal("the failed reload destroyed the credentials still in use")
	}
	u, _ := user.Reveal()
	p, _ := pw.Reveal()
	if _, err := pg.Query(string(u), string(p), "SELECT 1"); err != nil {
		t.Errorf("the kept credentials no longer log in: %v", err)
	}
}

// KV v1 has no versions: Watch compares the fields' contents (through
// keyed stamps), and sees nothing new while nothing changed. The token
// comes from a file, as a Vault Agent sink writes it.
func TestVaultKV1AndTokenFile(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.API(t, "POST", "sys/mounts/kv", map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	first, second := marker(t), marker(t)
	srv.API(t, "POST", "kv/app", map[string]any{"password": first, "port": 5432})
	tokenFile := writeFile(t, filepath.Join(t.TempDir(), "sink"), srv.Token+"\n", 0o600)
	cfg := loaded(t, Vault(VaultConn{Address: srv.Addr, NoEnv: true, Auth: VaultTokenFile{Path: tokenFile}},
		VaultPath{Path: "kv/app", Prefix: "db"}), PollInterval(100*time.Millisecond))
	wantSecret(t, cfg, "db.password", first)
	wantSecret(t, cfg, "db.port", "5432")
	var reloads atomic.Int32
	if err := cfg.Watch(context.Background(), func(error) { reloads.Add(1) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := reloads.Load(); n != 0 {
		t.Fatalf("%d reloads with nothing changed", n)
	}
	srv.API(t, "POST", "kv/app", map[string]any{"password": second, "port": 5432})
	waitUntil(t, 10*time.Second, "the new value is served", func() bool { return cfg.Secret("db.password").Equal([]byte(second)) })
	if ch := cfg.Status().Changed; len(ch) != 1 || ch[0] != "db.password" {
		t.Errorf("changed %v; want [db.password]", ch)
	}
}

// Vault revokes a token's leases when the token expires, whatever their
// own TTL: credentials leased for an hour under an AppRole token that
// lives 15 s at most die with it. The source logs in again before that and
// reads the credentials anew under the new token, so a service logging in
// all along never fails. (With 3 s tokens and a 5 s max TTL the new login
// came about a second before the old token died, and a loaded machine
// missed it: a login failed in the shake. 10 s tokens capped at 15 s give
// the new login 2.5 s or more.)
func TestVaultLeasesAreReadAgainUnderANewLogin(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("outlives two tokens, about 25 s")
	}
	pg, _, conn := databaseStack(t, "1h", "2h", "10s", "15s")
	cfg := watched(t, func(err error) {
		if err != nil {
			t.Errorf("reload: %v", err)
		}
	}, Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(200*time.Millisecond), GracePeriod(time.Second))
	fails, oks := 0, 0
	login := func() {
		if err := pairLogsIn(t, cfg, pg); err != nil {
			fails++
		} else {
			oks++
		}
	}
	for deadline := time.Now().Add(90 * time.Second); cfg.Status().Generation < 3; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("generation %d after 90 s, want two new pairs (%d logins failed, %d succeeded)", cfg.Status().Generation, fails, oks)
		}
		login()
	}
	login() // the last pair too
	if fails != 0 {
		t.Errorf("%d logins failed, %d succeeded across two new logins", fails, oks)
	}
}

// A load that fails after it read database credentials (here Require
// finds a key missing) revokes their lease: nobody holds them, and they
// would log in for their whole TTL.
func TestVaultFailedLoadRevokesTheLeasesItRead(t *testing.T) {
	t.Parallel()
	pg, srv := vaulttest.StartWithDatabase(t, "1h", "2h")
	audit := filepath.Join(t.TempDir(), "audit.log")
	srv.API(t, "PUT", "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": audit, "log_raw": "true"}})
	_, err := Load(Vault(rootConn(t, srv), VaultPath{Path: "database/creds/app", Prefix: "db"}), Require("db.nothing"))
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Load: %v", err)
	}
	// The audit log (log_raw) says which user Vault issued.
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var user, pw string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, `"username":"`); i >= 0 && strings.Contains(line, `"type":"response"`) {
			user = line[i+len(`"username":"`):]
			user = user[:strings.IndexByte(user, '"')]
			j := strings.Index(line, `"password":"`)
			pw = line[j+len(`"password":"`):]
			pw = pw[:strings.IndexByte(pw, '"')]
		}
	}
	if user == "" {
		t.Fatal("no credentials in the audit log")
	}
	if _, err := pg.Query(user, pw, "SELECT 1"); err == nil {
		t.Error("the credentials a failed load read still log in")
	}
}

// Kubernetes: the source logs in with the service-account token from a
// file ({"role", "jwt"}, checked here by Vault's JWT method, see
// vaulttest.JWTAuth) and reads its paths with the token it got.
func TestVaultKubernetesLogin(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t, vaulttest.Options{})
	_, _ = appRole(t, srv, "1h", "2h", true) // the "app" policy
	sign := srv.JWTAuth(t, "1h", "app")
	pw := marker(t)
	putKV(t, srv, "app", map[string]any{"password": pw})
	jwt := writeFile(t, filepath.Join(t.TempDir(), "token"), sign("system:serviceaccount:ns:app"), 0o600)
	cfg := loaded(t, Vault(VaultConn{Address: srv.Addr, NoEnv: true, Auth: VaultKubernetes{Mount: "jwt", Role: "app", JWTFile: jwt}},
		VaultPath{Path: "secret/data/app", Prefix: "db"}))
	wantSecret(t, cfg, "db.password", pw)

	forged := writeFile(t, filepath.Join(t.TempDir(), "forged"), sign("x")[:40]+"AAAA.AAAA", 0o600)
	_, err := Load(Vault(VaultConn{Address: srv.Addr, NoEnv: true, Auth: VaultKubernetes{Mount: "jwt", Role: "app", JWTFile: forged}},
		VaultPath{Path: "secret/data/app", Prefix: "db"}))
	if !errors.Is(err, vault.ErrLogin) || !strings.Contains(err.Error(), "secret/data/app") {
		t.Errorf("a forged token: %v", err)
	}
}

// A reload reads again only what changed: a KV path whose metadata shows
// the version the configuration holds keeps its cells without a read of
// its data (a read puts the whole secret through the network buffers
// again). Vault's audit log counts the requests.
func TestVaultReloadReadsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	putKV(t, srv, "other", map[string]any{"password": marker(t)})
	cfg := loaded(t, Vault(rootConn(t, srv), VaultPath{Path: "secret/data/app", Prefix: "app"},
		VaultPath{Path: "secret/data/other", Prefix: "other"}))
	audit := filepath.Join(t.TempDir(), "audit.log")
	srv.API(t, "PUT", "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": audit}})
	reads := func(path string) int {
		b, err := os.ReadFile(audit)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"type":"request"`) && strings.Contains(line, `"operation":"read"`) &&
				strings.Contains(line, `"path":"`+path+`"`) {
				n++
			}
		}
		return n
	}
	for range 3 {
		if err := cfg.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	putKV(t, srv, "other", map[string]any{"password": marker(t)})
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ch := cfg.Status().Changed; len(ch) != 1 || ch[0] != "other.password" {
		t.Errorf("changed %v", ch)
	}
	if n, m := reads("secret/data/app"), reads("secret/metadata/app"); n != 0 || m != 4 {
		t.Errorf("4 reloads, app unchanged: %d reads of its data (want 0), %d of its metadata (want 4)", n, m)
	}
	if n := reads("secret/data/other"); n != 1 {
		t.Errorf("other changed once: %d reads of its data, want 1", n)
	}
}
