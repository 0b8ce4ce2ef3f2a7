//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/secretmem/secretmem/internal/vaulttest"
)

// The server against a real Vault dev server (skipped, with the reason,
// when there is no Vault binary; CI builds one): its secrets come from a
// KV v2 secret, the bearer key and the signing key work with Vault's
// values and nothing else, /config shows them as [REDACTED], a new
// version is followed, and no value or credential reaches the logs. Once
// with VAULT_ADDR and VAULT_TOKEN as the Vault CLI takes them, once with
// -vault, a -vault-path of its own and AppRole, once with a token file.
func TestSecretsFromVault(t *testing.T) {
	t.Parallel()
	srv := vaulttest.Start(t, vaulttest.Options{})
	policy := `path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read"] }`
	srv.API(t, "PUT", "sys/policies/acl/testserver", map[string]any{"policy": policy})
	srv.API(t, "POST", "sys/auth/approle", map[string]any{"type": "approle"})
	srv.API(t, "POST", "auth/approle/role/testserver", map[string]any{"token_policies": []string{"testserver"}, "token_ttl": "1h"})
	roleID, secretID := "role-"+vaulttest.RandHex(6), marker(t)
	srv.API(t, "POST", "auth/approle/role/testserver/role-id", map[string]any{"role_id": roleID})
	srv.API(t, "POST", "auth/approle/role/testserver/custom-secret-id", map[string]any{"secret_id": secretID})
	secretIDFile := filepath.Join(t.TempDir(), "secret-id")
	writeFile(t, secretIDFile, secretID+"\n")
	tokenFile := filepath.Join(t.TempDir(), "vault-token") // as Vault Agent's sink writes it
	writeFile(t, tokenFile, srv.Token)

	for _, tc := range []struct {
		name, path string
		env, args  []string
	}{
		{"VAULT_ADDR and VAULT_TOKEN", "testserver",
			[]string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=" + srv.Token}, nil},
		{"-vault with AppRole", "apps/testserver", nil,
			[]string{"-vault", srv.Addr, "-vault-path", "secret/data/apps/testserver",
				"-vault-role-id", roleID, "-vault-secret-id-file", secretIDFile}},
		{"VAULT_ADDR and -vault-token-file", "sink/testserver", []string{"VAULT_ADDR=" + srv.Addr},
			[]string{"-vault-path", "secret/data/sink/testserver", "-vault-token-file", tokenFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiKey, signingKey, dbPassword, newKey := marker(t), marker(t), marker(t), marker(t)
			put := func(key string) {
				srv.API(t, "POST", "secret/data/"+tc.path, map[string]any{"data": map[string]any{
					"api.key": key, "signing.key": signingKey, "db": map[string]any{"password": dbPassword}}})
			}
			put(apiKey)
			r := start(t, tc.env, append([]string{"-poll", "200ms"}, tc.args...)...)

			if code, _ := call(t, "GET", r.base+"/api/whoami", apiKey, ""); code != 200 {
				t.Errorf("/api/whoami with Vault's api.key: %d", code)
			}
			if code, _ := call(t, "GET", r.base+"/api/whoami", demoAPIKey, ""); code != 401 {
				t.Errorf("/api/whoami with the demo key Vault overrides: %d, want 401", code)
			}
			signs(t, r.base, apiKey, signingKey, "hello from vault")

			code, body := call(t, "GET", r.base+"/config", "", "")
			var cfg map[string]any
			if code != 200 || json.Unmarshal([]byte(body), &cfg) != nil {
				t.Fatalf("/config: %d %s", code, show(body))
			}
			for _, key := range []string{"api.key", "signing.key", "db.password"} {
				first, rest, _ := strings.Cut(key, ".")
				if got := fmt.Sprint(cfg[first].(map[string]any)[rest]); got != "[REDACTED]" {
					t.Errorf("/config %s = %s, want [REDACTED]", key, show(got))
				}
			}
			if got := fmt.Sprint(cfg["db"].(map[string]any)["host"]); got != "localhost" {
				t.Errorf("/config db.host = %q: the embedded configuration is not under Vault's", got)
			}

			// A new version of the secret: the server follows it, and the
			// old key stays accepted for the grace period.
			put(newKey)
			eventually(t, "the new api.key from Vault is accepted", func() bool {
				code, _ := call(t, "GET", r.base+"/api/whoami", newKey, "")
				return code == 200
			})
			if code, _ := call(t, "GET", r.base+"/api/whoami", apiKey, ""); code != 200 {
				t.Errorf("the replaced api.key within its grace period: %d, want 200", code)
			}
			if _, rz := getReadyz(t, r.base); !rz.Healthy || !slices.Contains(rz.Status.Changed, "api.key") {
				t.Errorf("/readyz after the new version: healthy %v, changed %v", rz.Healthy, rz.Status.Changed)
			}

			logs := r.stop(t, syscall.SIGTERM)
			if !strings.Contains(logs, `"changed":["api.key"]`) {
				t.Errorf("the reload is not logged with the key it changed:\n%s", show(logs))
			}
			for i, s := range []string{apiKey, signingKey, dbPassword, newKey, secretID, srv.Token} {
				if strings.Contains(logs, s) {
					// The logs are not printed: the root token is no marker.
					t.Errorf("the logs hold secret %d of api.key, signing.key, db.password, the new api.key, the secret ID, the token", i)
				}
			}
		})
	}
}
