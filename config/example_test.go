package config_test

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/secret"
)

// exampleDir writes files for an example and returns the directory.
func exampleDir(files map[string]string) string {
	dir, err := os.MkdirTemp("", "config-example")
	if err != nil {
		log.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

func ExampleLoad() {
	dir := exampleDir(map[string]string{
		"config.yaml":         "http:\n  addr: :8080\ndb:\n  host: db.internal\n",
		"secrets/db.password": "hunter2\n",
	})
	defer os.RemoveAll(dir)
	os.Setenv("EXAMPLE_API__KEY", "k-123")

	cfg, err := config.Load(
		config.File(filepath.Join(dir, "config.yaml")),
		config.Env("EXAMPLE_"),
		config.SecretDir(filepath.Join(dir, "secrets")),
		config.Require("db.password", "api.key"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	fmt.Println(cfg.String("http.addr"))
	fmt.Println(cfg.Secret("db.password"))
	fmt.Println(cfg.Secret("db.password").Equal([]byte("hunter2")))
	_, stillSet := os.LookupEnv("EXAMPLE_API__KEY")
	fmt.Println(stillSet)
	// Output:
	// :8080
	// [REDACTED db.password]
	// true
	// false
}

func ExampleConfig_Unmarshal() {
	dir := exampleDir(map[string]string{"c.yaml": "db:\n  host: db.internal\n  password: hunter2\n"})
	defer os.RemoveAll(dir)
	cfg, err := config.Load(config.File(filepath.Join(dir, "c.yaml")))
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	var db struct {
		Host     string       `koanf:"host"`
		Password secret.Value `koanf:"password"`
	}
	if err := cfg.Unmarshal("db", &db); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %v\n", db.Host, db.Password)
	_ = db.Password.Use(func(pw []byte) error {
		fmt.Println(len(pw))
		return nil
	})
	// Output:
	// db.internal [REDACTED db.password]
	// 7
}

func ExampleConfig_LogValue() {
	dir := exampleDir(map[string]string{"c.json": `{"level": "debug", "api": {"token": "t-42"}}`})
	defer os.RemoveAll(dir)
	cfg, err := config.Load(config.File(filepath.Join(dir, "c.json")))
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	slog.New(h).Info("loaded", "config", cfg)
	// Output:
	// level=INFO msg=loaded config.api.token=[REDACTED] config.level=debug
}

func ExampleSecretDirProvider() {
	dir := exampleDir(map[string]string{"db.password": "hunter2\n"})
	defer os.RemoveAll(dir)

	p := config.SecretDirProvider(dir)
	defer p.Close()
	k := koanf.New(".")
	if err := k.Load(p, nil); err != nil {
		log.Fatal(err)
	}
	k.Print()
	pw, _ := p.Secret("db.password")
	fmt.Println(pw.Equal([]byte("hunter2")))
	// Output:
	// db.password -> [REDACTED db.password]
	// true
}
