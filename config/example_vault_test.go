package config_test

import (
	"context"
	"log"
	"log/slog"
	"slices"

	"github.com/secretmem/secretmem/config"
)

// Secrets from Vault: a KV v2 path's fields one by one, a whole path under
// a prefix, and database credentials leased by Vault's database engine.
// VAULT_ADDR and VAULT_TOKEN (or an AppRole, Kubernetes or a token file)
// say where and how; the token is unset from the environment once it is
// in a cell. Under Watch the credentials are renewed and, when Vault will
// not renew them, replaced as a pair; the callback hears of it.
func ExampleVault() {
	cfg, err := config.Load(
		config.File("app.yaml"),
		config.Vault(config.VaultConn{},
			config.VaultPath{Path: "secret/data/app", Fields: map[string]string{"api_key": "api.key"}},
			config.VaultPath{Path: "secret/data/payments", Prefix: "payments"},
			config.VaultPath{Path: "database/creds/app", Fields: map[string]string{"username": "db.user", "password": "db.password"}},
		),
		config.Require("api.key", "db.user", "db.password"),
	)
	if err != nil {
		log.Fatal(err) // names the Vault address and path, never a value
	}
	defer cfg.Close()
	err = cfg.Watch(context.Background(), func(err error) {
		if err != nil {
			slog.Warn("vault unreachable; serving the current secrets", "err", err)
			return
		}
		if slices.Contains(cfg.Status().Changed, "db.password") {
			slog.Info("new database credentials") // a pool reading the cells at connect follows by itself
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}
