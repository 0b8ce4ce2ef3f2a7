package main

import (
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/secretmem/secretmem/config"
)

// defaultVaultPath is where the server reads its secrets when Vault is
// on and no -vault-path is given: KV v2 at the dev server's "secret"
// mount, written with `vault kv put secret/testserver api.key=...`.
const defaultVaultPath = "secret/data/testserver"

// vaultFlags are the flags that load secrets from Vault.
type vaultFlags struct {
	addr         string
	paths        []string
	tokenFile    string
	roleID       string
	secretIDFile string
}

func (v *vaultFlags) register(flags *flag.FlagSet) {
	flags.StringVar(&v.addr, "vault", "", "load secrets from the Vault at `address` (default $VAULT_ADDR; with neither, no Vault)")
	flags.Func("vault-path", "Vault `path` whose fields become keys, field api.key being api.key (repeatable; default "+defaultVaultPath+")", func(s string) error {
		if strings.Trim(s, "/") == "" {
			return errors.New("empty path")
		}
		v.paths = append(v.paths, s)
		return nil
	})
	flags.StringVar(&v.tokenFile, "vault-token-file", "", "read the Vault token from `file` (a Vault Agent sink) instead of $VAULT_TOKEN or ~/.vault-token")
	flags.StringVar(&v.roleID, "vault-role-id", "", "log in to Vault with AppRole: the role `id` (the secret ID from -vault-secret-id-file)")
	flags.StringVar(&v.secretIDFile, "vault-secret-id-file", "", "AppRole: read the secret ID from `file` at each login")
}

// option is the Vault source the flags and the environment ask for, or
// false when Vault is not on: neither -vault nor VAULT_ADDR (nor
// VAULT_AGENT_ADDR, which the Vault CLI prefers) is set.
func (v *vaultFlags) option() (config.Option, bool, error) {
	if v.addr == "" && os.Getenv("VAULT_ADDR") == "" && os.Getenv("VAULT_AGENT_ADDR") == "" {
		if v.tokenFile != "" || v.roleID != "" || v.secretIDFile != "" || len(v.paths) > 0 {
			return config.Option{}, false, errors.New("a -vault flag is set but neither -vault nor VAULT_ADDR says where Vault is")
		}
		return config.Option{}, false, nil
	}
	conn := config.VaultConn{Address: v.addr} // the rest as the Vault CLI reads it
	switch {
	case v.roleID != "" || v.secretIDFile != "":
		if v.roleID == "" || v.secretIDFile == "" {
			return config.Option{}, false, errors.New("AppRole needs both -vault-role-id and -vault-secret-id-file")
		}
		if v.tokenFile != "" {
			return config.Option{}, false, errors.New("-vault-token-file and AppRole are two ways to log in: pick one")
		}
		conn.Auth = config.VaultAppRole{RoleID: v.roleID, SecretIDFile: v.secretIDFile}
	case v.tokenFile != "":
		conn.Auth = config.VaultTokenFile{Path: v.tokenFile}
	}
	paths := v.paths
	if len(paths) == 0 {
		paths = []string{defaultVaultPath}
	}
	vp := make([]config.VaultPath, len(paths))
	for i, p := range paths {
		// No Fields, no Prefix: every field is a key by its own name, so
		// one secret holds the server's keys as they are named in
		// default.yaml (api.key, signing.key, db.password, ...).
		vp[i] = config.VaultPath{Path: p}
	}
	return config.Vault(conn, vp...), true, nil
}
