//go:build unix

package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
)

// A Vault path's cells, kept across a reload while a later layer
// overrides their key, are retired with the state that owned them. A
// reload that then keeps them again (the override gone, the version
// unchanged) must not serve cells the retirement destroys a grace period
// later: it reads the path again instead.
func TestVaultHeldCellsRetiredUnderAnOverrideAreNotKept(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	want := marker(t)
	putKV(t, srv, "app", map[string]any{"password": want})
	file := filepath.Join(t.TempDir(), "app.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("name: a\n")
	conn := rootConn(t, srv) // its token cell lives to the test's end
	base := liveCells()
	const grace = 300 * time.Millisecond
	cfg, err := Load(Vault(conn, VaultPath{Path: "secret/data/app", Prefix: "app"}),
		File(file), GracePeriod(grace), SettleTime(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	write("name: b\napp:\n  password: overridden\n")
	if err := cfg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	write("name: c\n")
	if err := cfg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * grace)
	got := cfg.Secret("app.password")
	if !got.Alive() {
		t.Fatal("app.password was destroyed under the current configuration (a retired cell was kept)")
	}
	if !got.Equal([]byte(want)) {
		t.Error("app.password does not hold the value in Vault")
	}
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	if n := liveCells(); n != base {
		t.Errorf("%d live cells after Close, %d before Load", n, base)
	}
}

// A new version that changes one field of two: the unchanged field's new
// cell gives way to the old one (carryOver), and the path must still be
// kept unread by the reloads after, as any unchanged path is.
func TestVaultPathWithACarriedOverFieldIsKeptUnread(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	user, pass := marker(t), marker(t)
	putKV(t, srv, "app", map[string]any{"user": user, "password": pass})
	cfg := loaded(t, Vault(rootConn(t, srv), VaultPath{Path: "secret/data/app", Prefix: "app"}))
	ctx := context.Background()
	pass = marker(t)
	putKV(t, srv, "app", map[string]any{"user": user, "password": pass})
	if err := cfg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if ch := cfg.Status().Changed; len(ch) != 1 || ch[0] != "app.password" {
		t.Fatalf("changed %v, want [app.password]", ch)
	}
	audit := filepath.Join(t.TempDir(), "audit.log")
	srv.API(t, "PUT", "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": audit}})
	for range 3 {
		if err := cfg.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"type":"request"`) && strings.Contains(line, `"operation":"read"`) &&
			strings.Contains(line, `"path":"secret/data/app"`) {
			n++
		}
	}
	if n != 0 {
		t.Errorf("3 reloads of an unchanged path: %d reads of its data, want 0", n)
	}
	if !cfg.Secret("app.user").Equal([]byte(user)) || !cfg.Secret("app.password").Equal([]byte(pass)) {
		t.Error("the cells do not hold the values in Vault")
	}
}

// The token is revoked (and its leases with it) and a reload's probes
// log in again: the lease path, probed before the KV path whose 403 made
// the new login, saw the old login, yet its credentials died with the old
// token. The reload must read them anew, not keep a pair Vault revoked.
func TestVaultLeaseReadUnderAnOlderLoginIsNotKept(t *testing.T) {
	t.Parallel()
	pg, srv, conn := databaseStack(t, "1h", "2h", "1h", "2h")
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	cfg := loaded(t, Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"},
		VaultPath{Path: "secret/data/app", Prefix: "app"}))
	if pairLogsIn(t, cfg, pg) != nil {
		t.Fatal("the first pair does not log in")
	}
	// Every AppRole token, and the leases read under it.
	srv.API(t, "PUT", "sys/leases/revoke-prefix/auth/approle/login", nil)
	waitUntil(t, 15*time.Second, "the pair still logs in after its token was revoked",
		func() bool { return pairLogsIn(t, cfg, pg) != nil }) // Vault revokes the leases in the background
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pairLogsIn(t, cfg, pg) != nil { // its error names the user
		t.Error("after the reload the pair is one Vault revoked with the old token")
	}
}

// A new login under Watch (the old token capped by its max TTL) means the
// leases read under the old token die with it, a fraction of its TTL
// later: the watcher must look at the leases then, not at its next poll
// (here an hour away) nor at the lease's own due time (also an hour).
func TestVaultWatchReadsLeasesAgainSoonAfterANewLogin(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("outlives a token, about 8 s")
	}
	pg, _, conn := databaseStack(t, "1h", "2h", "3s", "5s")
	cfg := watched(t, nil, Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(time.Hour), GracePeriod(time.Second))
	time.Sleep(6 * time.Second) // the first token is past its max TTL
	waitUntil(t, 3*time.Second, "the pair read under the first token is still served after it expired",
		func() bool { return pairLogsIn(t, cfg, pg) == nil })
}

// Two Vault sources, and one path listed twice in the first: each path
// of each source keeps its own cells while unchanged, and all take the
// new version when it changes.
func TestVaultTwoSourcesAndARepeatedPathFollowTheirVersions(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	want := marker(t)
	putKV(t, srv, "app", map[string]any{"password": want})
	cfg := loaded(t,
		Vault(rootConn(t, srv), VaultPath{Path: "secret/data/app", Fields: map[string]string{"password": "a.pw"}},
			VaultPath{Path: "secret/data/app", Prefix: "dup"}),
		Vault(rootConn(t, srv), VaultPath{Path: "secret/data/app", Fields: map[string]string{"password": "b.pw"}}))
	check := func(when string) {
		t.Helper()
		for _, k := range []string{"a.pw", "dup.password", "b.pw"} {
			if !cfg.Secret(k).Equal([]byte(want)) {
				t.Errorf("%s: %s does not hold the value in Vault", when, k)
			}
		}
	}
	ctx := context.Background()
	for range 2 {
		if err := cfg.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	check("unchanged")
	want = marker(t)
	putKV(t, srv, "app", map[string]any{"password": want})
	if err := cfg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a new version")
	if ch := cfg.Status().Changed; len(ch) != 3 {
		t.Errorf("changed %v, want the three keys", ch)
	}
	if err := cfg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	check("kept")
}
