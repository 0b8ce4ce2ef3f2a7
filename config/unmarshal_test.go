package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

type dbConfig struct {
	Host     string       `koanf:"host"`
	Port     int          `koanf:"port"`
	Password secret.Value `koanf:"password"`
}

type appConfig struct {
	DB      dbConfig                `koanf:"db"`
	Tokens  map[string]secret.Value `koanf:"tokens"`
	Timeout time.Duration           `koanf:"timeout"`
	Extra   map[string]any          `koanf:"extra"`
}

func TestUnmarshalFillsSecretValueFields(t *testing.T) {
	a, b, c := marker(t), marker(t), marker(t)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"),
		"db:\n  host: h\n  port: 5432\n  password: "+a+"\ntokens:\n  github_token: "+b+"\ntimeout: 3s\nextra:\n  secret_sauce: "+c+"\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	before := liveCells()

	var got appConfig
	if err := cfg.Unmarshal("", &got); err != nil {
		t.Fatal(err)
	}
	if got.DB.Host != "h" || got.DB.Port != 5432 || got.Timeout != 3*time.Second {
		t.Errorf("plain fields: %+v, timeout %v", got.DB, got.Timeout)
	}
	checks := []struct {
		name string
		v    any
		want string
	}{
		{"db.password", got.DB.Password, a},
		{"tokens.github_token", got.Tokens["github_token"], b},
		{"extra.secret_sauce (map[string]any)", got.Extra["secret_sauce"], c},
	}
	for _, ck := range checks {
		v, ok := ck.v.(secret.Value)
		if !ok {
			t.Errorf("%s decoded to %T, not secret.Value", ck.name, ck.v)
			continue
		}
		if !v.Equal([]byte(ck.want)) {
			t.Errorf("%s: cell does not hold the expected secret", ck.name)
		}
		if err := v.Use(func([]byte) error { return nil }); err != nil {
			t.Errorf("%s: Use after Unmarshal: %v", ck.name, err)
		}
	}
	if after := liveCells(); after != before {
		t.Errorf("Unmarshal left %d token cells alive", after-before)
	}

	var sub dbConfig
	if err := cfg.Unmarshal("db", &sub); err != nil || !sub.Password.Equal([]byte(a)) {
		t.Errorf("Unmarshal(\"db\"): err %v, or the cell does not hold the secret", err)
	}
}

func TestUnmarshalRefusesSecretsInPlainFields(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "db:\n  password: "+marker(t)+"\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	var plain struct {
		DB struct {
			Password string `koanf:"password"`
		} `koanf:"db"`
	}
	err = cfg.Unmarshal("", &plain)
	if !errors.Is(err, ErrPlainField) || !strings.Contains(err.Error(), "db.password") {
		t.Fatalf("err = %v, want ErrPlainField naming db.password", err)
	}
	if plain.DB.Password != "" {
		t.Error("the string field kept the stand-in token")
	}
}
