package config_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/secretmem/secretmem/config"
)

// A Snapshot keeps its generation while the Config moves on: a handler
// that took one reads a user and a password that belong together.
func ExampleConfig_Snapshot() {
	dir := exampleDir(map[string]string{
		"config.yaml":         "db:\n  user: app\n",
		"secrets/db.password": "first\n",
	})
	defer os.RemoveAll(dir)
	cfg, err := config.Load(config.File(filepath.Join(dir, "config.yaml")), config.SecretDir(filepath.Join(dir, "secrets")))
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	snap := cfg.Snapshot()
	if err := os.WriteFile(filepath.Join(dir, "secrets", "db.password"), []byte("second\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := cfg.Reload(context.Background()); err != nil { // what Watch does when the file changes
		log.Fatal(err)
	}
	fmt.Println("the snapshot's password is the first:", snap.Secret("db.password").Equal([]byte("first")))
	fmt.Println("the config's is the second:", cfg.Secret("db.password").Equal([]byte("second")))
	st := cfg.Status()
	fmt.Println("generation", st.Generation, "changed", st.Changed)
	// Output:
	// the snapshot's password is the first: true
	// the config's is the second: true
	// generation 2 changed [db.password]
}

// Watch follows the sources; the callback hears of every reload, and a
// readiness endpoint serves the status.
func ExampleConfig_Watch() {
	cfg, err := config.Load(config.SecretDir("/run/secrets"), config.Require("api.key"))
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	err = cfg.Watch(context.Background(), func(err error) {
		if err != nil {
			slog.Error("config reload failed; serving the previous values", "err", err, "reload", cfg.Status())
			return
		}
		slog.Info("config reloaded", "changed", cfg.Status().Changed)
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/readyz", cfg.HealthHandler())
}
