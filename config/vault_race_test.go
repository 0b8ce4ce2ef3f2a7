//go:build unix

package config

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
	"github.com/secretmem/secretmem/internal/vaulttest"
	"github.com/secretmem/secretmem/secret"
)

// Reloads from the service racing the watcher's probes and renewals,
// tokens renewed and replaced under them, database credentials rotated,
// a KV path deleted (failed reloads) and written again, and Close in the
// middle of it all: every read of the current generation works, a pair
// replaced is unreadable once its grace period is over, and after Close
// no cell is left, and the pair the Config held no longer logs in.
func TestVaultRacesEndWithNoCellLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("rotates for about 8 s")
	}
	pg, srv, conn := databaseStack(t, "2s", "3s", "2s", "3s")
	conn.RevokeOnClose = true
	putKV(t, srv, "app", map[string]any{"api_key": marker(t)})
	before := liveCells()
	const grace = 300 * time.Millisecond
	cfg, err := Load(Vault(conn,
		VaultPath{Path: "database/creds/app", Fields: map[string]string{"username": "db.user", "password": "db.password"}},
		VaultPath{Path: "secret/data/app", Prefix: "app"}),
		PollInterval(100*time.Millisecond), GracePeriod(grace),
		RetryBackoff(50*time.Millisecond, 200*time.Millisecond), SettleTime(10*time.Millisecond),
		quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	first := cfg.Secret("db.password")
	if err := cfg.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var reloads, badReads atomic.Int32
	// The service reloading on its own (SIGHUP, an admin endpoint).
	stopReloads := repeat(3, func() {
		if cfg.Reload(context.Background()) == nil {
			reloads.Add(1)
		}
		time.Sleep(20 * time.Millisecond)
	})
	stopReads := repeat(1, func() { // a reader of the current generation
		taken := time.Now()
		sn := cfg.Snapshot()
		err1 := sn.Secret("db.user").Use(func([]byte) error { return nil })
		err2 := sn.Secret("db.password").Use(func([]byte) error { return nil })
		// A snapshot's replaced cells last the grace period: a reader the
		// machine stalled for longer finds them retired, as documented.
		stale := time.Since(taken) >= grace
		excused := func(err error) bool { return errors.Is(err, ErrClosed) || stale && errors.Is(err, ErrRetired) }
		if (err1 != nil || err2 != nil) && !excused(err1) && !excused(err2) {
			badReads.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
	})
	time.Sleep(2 * time.Second)
	srv.API(t, "DELETE", "secret/metadata/app", nil) // reloads fail for a while
	time.Sleep(time.Second)
	putKV(t, srv, "app", map[string]any{"api_key": marker(t)})
	waitUntil(t, 10*time.Second, "the first pair is replaced and its grace period over", func() bool { return !first.Alive() })
	time.Sleep(2 * time.Second)
	user, _ := cfg.Secret("db.user").Reveal()
	pw, _ := cfg.Secret("db.password").Reveal()
	closed := make(chan error, 1)
	go func() { closed <- cfg.Close() }() // with the reloads still going
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(2 * DefaultCloseWait):
		t.Fatal("Close hangs")
	}
	stopReloads()
	stopReads()
	if n := badReads.Load(); n != 0 {
		t.Errorf("%d reads of the current generation failed", n)
	}
	if reloads.Load() == 0 || cfg.Status().Generation < 2 {
		t.Errorf("%d reloads, generation %d: the test raced nothing", reloads.Load(), cfg.Status().Generation)
	}
	if n := liveCells(); n != before {
		t.Errorf("%d cells live after Close, %d before", n, before)
	}
	if _, err := pg.Query(string(user), string(pw), "SELECT 1"); err == nil {
		t.Error("the pair held at Close still logs in (RevokeOnClose)")
	}
}

// Close while a lease renewal hangs (a Vault that stopped answering
// mid-request): Close returns within its wait, every cell is destroyed,
// and nothing is left running that reads them.
func TestVaultCloseDuringAHungRenewal(t *testing.T) {
	hung := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(hung) })
	var renewing atomic.Bool
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/sys/leases/renew" {
			renewing.Store(true)
			select {
			case <-hung:
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, `{"lease_id":"database/creds/app/1","renewable":true,"lease_duration":1,"data":{"username":"u","password":"p"}}`)
	})
	conn := f.conn(t)
	before := liveCells()
	cfg, err := Load(Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	pw := cfg.Secret("db.password")
	if err := cfg.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "a renewal is in flight", renewing.Load)
	start := time.Now()
	if err := cfg.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took > DefaultCloseWait {
		t.Errorf("Close took %v", took)
	}
	if pw.Alive() || !errors.Is(pw.Use(func([]byte) error { return nil }), secret.ErrDestroyed) {
		t.Error("the password is readable after Close")
	}
	if n := liveCells(); n != before {
		t.Errorf("%d cells live after Close, %d before", n, before)
	}
}

// Vault restarted under a service holding leased credentials: the lease
// is gone (a dev server keeps nothing), so its renewal is refused and the
// path is read again, which fails until Vault is set up again; meanwhile
// the pair the service holds keeps serving (Vault, restarted, will not
// revoke it) and the failures show in Status. Once the database engine
// is back, a new pair is read and logs in.
func TestVaultRestartedUnderALease(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lease to come due, about 5 s")
	}
	pg, srv := vaulttest.StartWithDatabase(t, "3s", "1h")
	cfg := watched(t, nil, Vault(rootConn(t, srv), VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), RetryBackoff(100*time.Millisecond, 300*time.Millisecond), GracePeriod(time.Second),
		quietLogger())
	u0, _ := cfg.Secret("db.username").Reveal()
	srv.Restart(t) // the lease, the database engine and its roles are gone
	waitUntil(t, 10*time.Second, "the lost lease is reported", func() bool { return cfg.Status().Failures > 0 })
	if u, _ := cfg.Secret("db.username").Reveal(); string(u) != string(u0) {
		t.Fatal("the pair changed while Vault could not give a new one")
	}
	p0, _ := cfg.Secret("db.password").Reveal()
	if _, err := pg.Query(string(u0), string(p0), "SELECT 1"); err != nil {
		t.Errorf("the pair held while Vault is away no longer logs in: %v", err)
	}
	srv.MountDatabase(t, pg, "3s", "1h")
	waitUntil(t, 10*time.Second, "a new pair is read", func() bool {
		u, _ := cfg.Secret("db.username").Reveal()
		return string(u) != string(u0)
	})
	if err := pairLogsIn(t, cfg, pg); err != nil {
		t.Errorf("the new pair does not log in: %v", err)
	}
}

// A token the service was given (not renewable, 2 s) expires under
// Watch: the cells loaded keep serving, every later reload fails with an
// error that says the token expired and when (never the token), and
// Health turns unhealthy.
func TestVaultAGivenTokenExpires(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	pw := marker(t)
	putKV(t, srv, "app", map[string]any{"password": pw})
	created := srv.API(t, "POST", "auth/token/create", map[string]any{"ttl": "2s", "renewable": false, "policies": []string{"root"}})
	tok := created["auth"].(map[string]any)["client_token"].(string)
	var logs testchild.Buffer
	cfg := watched(t, nil, Vault(VaultConn{Address: srv.Addr, NoEnv: true, Auth: VaultToken{Value: vaultCell(t, tok)}},
		VaultPath{Path: "secret/data/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), RetryBackoff(50*time.Millisecond, 100*time.Millisecond), UnhealthyAfter(2),
		debugLogger(&logs))
	waitUntil(t, 10*time.Second, "the expired token shows in Health", func() bool { return cfg.Health() != nil })
	msg := cfg.Status().LastError.Error()
	if !strings.Contains(msg, "expired") {
		t.Errorf("the last error should say the token expired: %s", msg)
	}
	if !cfg.Secret("db.password").Equal([]byte(pw)) {
		t.Error("the loaded value is not served after the token expired")
	}
	for _, s := range []string{msg, cfg.Health().Error(), logs.String()} {
		if strings.Contains(s, tok) || strings.Contains(s, pw) {
			t.Error("a message holds the token or the value")
		}
	}
}
