// Command config loads configuration from a file, the environment and a
// secret directory, with every secret going straight into a cell.
//
//	go run ./examples/config
package main

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/secretmem/secretmem/config"
)

func main() {
	// A throwaway setup: a YAML file, an environment variable and a
	// secret directory, as a container would get them.
	dir, err := os.MkdirTemp("", "secretmem-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "app.yaml")
	must(os.WriteFile(file, []byte("http:\n  addr: 127.0.0.1:8080\ndb:\n  user: app\n  password: from-the-file\n"), 0o600))
	secrets := filepath.Join(dir, "secrets")
	must(os.Mkdir(secrets, 0o700))
	must(os.WriteFile(filepath.Join(secrets, "api.key"), []byte("key-from-the-secret-dir\n"), 0o600))
	must(os.Setenv("APP_DB__PASSWORD", "password-from-the-env"))

	cfg, err := config.Load(
		config.File(file),
		config.SecretDir(secrets),
		config.Env("APP_"),
		config.Require("db.password", "api.key"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	fmt.Println("http.addr:", cfg.String("http.addr"))
	fmt.Println("db.password from the env wins:", cfg.Secret("db.password").Equal([]byte("password-from-the-env")))
	fmt.Println("api.key from the secret dir:", cfg.Secret("api.key").Equal([]byte("key-from-the-secret-dir")))
	_, stillSet := os.LookupEnv("APP_DB__PASSWORD")
	fmt.Println("APP_DB__PASSWORD still set:", stillSet)
	slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("config", "config", cfg)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
