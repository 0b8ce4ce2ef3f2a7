//go:build unix

package config

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vault"
	"github.com/secretmem/secretmem/internal/vaulttest"
)

// The VAULT_* environment as the CLI reads it, and what Load does to
// VAULT_TOKEN: unset, its bytes wiped in the runtime's copy and in the
// process's original block (/proc/self/environ), unless WipeEnv is off;
// left alone when Load fails.

// TestVaultTokenLeavesTheOriginalEnvironment starts this test binary
// again with VAULT_TOKEN in its initial environment, where
// /proc/self/environ reads it, and lets the child check itself.
func TestVaultTokenLeavesTheOriginalEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/environ is Linux's")
	}
	if os.Getenv("CONFIG_VAULT_ENV_CHILD") == "1" {
		vaultEnvironChild(t)
		return
	}
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	cmd := exec.Command(os.Args[0], "-test.run=^TestVaultTokenLeavesTheOriginalEnvironment$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "CONFIG_VAULT_ENV_CHILD=1", "VAULT_ADDR="+srv.Addr, "VAULT_TOKEN="+srv.Token)
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte(srv.Token)) {
		t.Fatal("the child printed the token")
	}
	if err != nil || !bytes.Contains(out, []byte("vault environ child ok")) {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func vaultEnvironChild(t *testing.T) {
	tok := strings.Clone(os.Getenv("VAULT_TOKEN")) // Getenv's string shares the bytes Load wipes
	block, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(block, []byte("VAULT_TOKEN="+tok)) {
		t.Fatal("the token is not in the initial environment block; the test proves nothing")
	}
	kv := findEnv(t, "VAULT_TOKEN=")
	cfg := loaded(t, Vault(VaultConn{}, VaultPath{Path: "secret/data/app", Prefix: "db"}))
	if !cfg.Secret("db.password").Alive() {
		t.Fatal("nothing loaded")
	}
	if _, set := os.LookupEnv("VAULT_TOKEN"); set {
		t.Fatal("VAULT_TOKEN is still set")
	}
	block, err = os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(block, []byte(tok)) {
		t.Fatal("the token is still in /proc/self/environ")
	}
	if !bytes.Contains(block, []byte("VAULT_TOKEN=")) {
		t.Fatal("the variable's name vanished from the block: the wipe hit the wrong bytes")
	}
	if strings.Contains(kv, tok) || !isZero(strings.TrimPrefix(kv, "VAULT_TOKEN=")) {
		t.Fatal("the runtime's string of VAULT_TOKEN still holds the token")
	}
	// The source keeps working on the token it took into a cell.
	if err := cfg.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("vault environ child ok\n")
}

// NoWipe(WipeEnv) leaves VAULT_TOKEN set, and a Load that fails leaves
// it set whatever the options: it loses nothing.
func TestVaultTokenStaysWhenAsked(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	t.Setenv("VAULT_ADDR", srv.Addr)
	t.Setenv("VAULT_TOKEN", srv.Token)
	cfg, err := Load(Vault(VaultConn{}, VaultPath{Path: "secret/data/app", Prefix: "db"}), NoWipe(WipeEnv))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Close()
	if os.Getenv("VAULT_TOKEN") != srv.Token {
		t.Error("NoWipe(WipeEnv): VAULT_TOKEN was changed")
	}
	if _, err := Load(Vault(VaultConn{}, VaultPath{Path: "secret/data/nothing"})); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("Load of a missing path: %v", err)
	}
	if os.Getenv("VAULT_TOKEN") != srv.Token {
		t.Error("a failed Load changed VAULT_TOKEN")
	}
}

// VAULT_NAMESPACE goes into X-Vault-Namespace on every request, and
// VaultConn.Namespace wins over it; VAULT_AGENT_ADDR wins over VAULT_ADDR.
func TestVaultNamespaceAndAgentFromTheEnvironment(t *testing.T) {
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":{"data":{"password":"p"},"metadata":{"version":1}}}`))
	})
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("VAULT_AGENT_ADDR", f.URL)
	t.Setenv("VAULT_NAMESPACE", "team-a/")
	for _, c := range []struct{ conn, want string }{{"", "team-a/"}, {"team-b", "team-b"}} {
		conn := f.conn(t)
		conn.NoEnv, conn.Address, conn.Namespace = false, "", c.conn
		cfg, err := Load(Vault(conn, VaultPath{Path: "secret/data/app", Prefix: "db"}))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Close()
		f.mu.Lock()
		got := f.heads.Get("X-Vault-Namespace")
		f.mu.Unlock()
		if got != c.want {
			t.Errorf("VaultConn.Namespace %q: the header is %q, want %q", c.conn, got, c.want)
		}
	}
}

// TLS is verified by default: a Vault with a certificate of its own CA
// fails to load without the CA, with an error that says what is wrong and
// what to set; VAULT_CACERT or VaultConn.CACert makes it work, as does
// VAULT_SKIP_VERIFY=1 (parsed as the CLI parses it); a VAULT_SKIP_VERIFY
// the CLI would not parse is an error naming it, not a silent false.
func TestVaultTLSFromTheEnvironment(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{TLS: true})
	putKV(t, srv, "app", map[string]any{"password": marker(t)})
	t.Setenv("VAULT_ADDR", srv.Addr)
	t.Setenv("VAULT_MAX_RETRIES", "0")
	var logs bytes.Buffer
	load := func(conn VaultConn) error {
		logs.Reset()
		conn.Auth = VaultToken{Value: vaultCell(t, srv.Token)}
		cfg, err := Load(Vault(conn, VaultPath{Path: "secret/data/app", Prefix: "db"}), Logger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err == nil {
			cfg.Close()
		}
		return err
	}
	warned := func() bool { return strings.Contains(logs.String(), "verification is off") }
	err := load(VaultConn{})
	if !errors.Is(err, vault.ErrUnreachable) || !strings.Contains(err.Error(), srv.Addr) ||
		!strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "VAULT_CACERT") {
		t.Errorf("without the CA: %v", err)
	}
	if err := load(VaultConn{CACert: srv.CACert}); err != nil || warned() {
		t.Errorf("with VaultConn.CACert: %v (warned %v)", err, warned())
	}
	t.Setenv("VAULT_CACERT", srv.CACert)
	if err := load(VaultConn{}); err != nil {
		t.Errorf("with VAULT_CACERT: %v", err)
	}
	t.Setenv("VAULT_CACERT", "")
	t.Setenv("VAULT_SKIP_VERIFY", "1")
	if err := load(VaultConn{CACert: srv.CACert}); err != nil || !warned() {
		t.Errorf("with VAULT_SKIP_VERIFY=1: %v; it must warn that verification is off, whatever the program set", err)
	}
	t.Setenv("VAULT_SKIP_VERIFY", "yes please")
	if err := load(VaultConn{}); !errors.Is(err, vault.ErrConfig) || !strings.Contains(err.Error(), "VAULT_SKIP_VERIFY") {
		t.Errorf("VAULT_SKIP_VERIFY=yes please: %v", err)
	}
}

// Plain HTTP to another host sends the token in the clear: Load says so
// in the log (the CLI allows it, and so does this source); to this host
// it does not.
func TestVaultPlainHTTPElsewhereIsWarnedOf(t *testing.T) {
	for addr, want := range map[string]bool{"http://192.0.2.1:8200": true, "http://127.0.0.1:1": false, "http://localhost:1": false} {
		var logs bytes.Buffer
		_, err := Load(Vault(VaultConn{Address: addr, NoEnv: true, Timeout: 100 * time.Millisecond, Auth: VaultToken{Value: vaultCell(t, "hvs.x")}},
			VaultPath{Path: "secret/data/app"}), Logger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err == nil {
			t.Fatalf("%s: Load succeeded", addr)
		}
		if got := strings.Contains(logs.String(), "unencrypted"); got != want {
			t.Errorf("%s: warned %v, want %v", addr, got, want)
		}
	}
}
