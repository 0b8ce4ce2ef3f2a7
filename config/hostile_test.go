package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// The odd and hostile configurations real deployments carry, one test per
// way the loader once changed or exposed a secret without a word.

func TestASecretWrittenAsAMapOrAListIsRefusedWithoutShowingIt(t *testing.T) {
	m := marker(t)
	tests := []struct {
		name, file, content, key, at string
	}{
		{"an unquoted YAML {secret}", "c.yaml", "a: 1\npassword: {%s}\n", "password", "c.yaml:2"},
		{"an unquoted YAML {secret, more}", "c.yaml", "a: 1\napi:\n  token: {%s, x}\n", "api.token", "c.yaml:3"},
		{"a YAML block map with a key and no value", "c.yaml", "password:\n  %s:\n", "password", "c.yaml:2"},
		{"an unquoted YAML [secret]", "c.yaml", "a: 1\npassword: [%s]\n", "password", "c.yaml:2"},
		{"a JSON map with a null entry", "c.json", "{\n\"password\": {\"%s\": null}\n}", "password", "c.json:2"},
		{"a JSON list", "c.json", "{\n\"password\": [\"%s\"]\n}", "password", "c.json:2"},
		{"a TOML array", "c.toml", "a = 1\npassword = [\"%s\"]\n", "password", "c.toml:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is ErrSecretType naming key and line", func(t *testing.T) {
			p := writeFile(t, filepath.Join(wine.TempDir(t), tt.file), fmt.Sprintf(tt.content, m), 0o600)
			before := liveCells()
			cfg, err := Load(File(p))
			if err == nil {
				// What the old loader did: show the secret as a key.
				shown, _ := json.Marshal(cfg.Redacted())
				leaked := strings.Contains(string(shown), m) || strings.Contains(fmt.Sprint(cfg.Keys()), m)
				cfg.Close()
				t.Fatalf("Load accepted it (and the secret is shown in Redacted or Keys: %v)", leaked)
			}
			if !errors.Is(err, ErrSecretType) {
				t.Fatalf("err = %v, want ErrSecretType", err)
			}
			msg := err.Error()
			if strings.Contains(msg, m) || strings.Contains(msg, m[:8]) {
				t.Fatal("the error holds the secret")
			}
			if !strings.Contains(msg, tt.key) || !strings.Contains(msg, tt.at) {
				t.Errorf("error %q does not name %s at %s", msg, tt.key, tt.at)
			}
			if after := liveCells(); after != before {
				t.Errorf("live cells: %d before, %d after", before, after)
			}
		})
	}
	t.Run("a map of secrets under a secret name still loads", func(t *testing.T) {
		a, b := marker(t), marker(t)
		p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "credentials:\n  aws: "+a+"\n  gcp: {key: "+b+"}\n", 0o600)
		cfg, err := Load(File(p))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		wantSecret(t, cfg, "credentials.aws", a)
		wantSecret(t, cfg, "credentials.gcp.key", b)
	})
}

// An env: reference to a variable the process needs reads it and leaves
// it be; only a variable named like a secret is unset and wiped.
func TestAnEnvReferenceToAnOrdinaryVariableLeavesItInPlace(t *testing.T) {
	path, home := strings.Clone(os.Getenv("PATH")), strings.Clone(os.Getenv("HOME"))
	if path == "" {
		t.Skip("no PATH to refer to")
	}
	refs := "tools:\n  path: env:PATH\n"
	if home != "" { // Windows has no HOME
		refs += "  home: env:HOME\n"
	}
	t.Cleanup(func() {
		// The old loader unset and zeroed PATH: put it back for the other
		// tests whatever happened.
		os.Setenv("PATH", path)
		if home != "" {
			os.Setenv("HOME", home)
		}
	})
	m := marker(t)
	t.Setenv("ORDINARY_UPSTREAM_TOKEN", m)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), refs+"api:\n  upstream: env:ORDINARY_UPSTREAM_TOKEN\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if !cfg.Secret("tools.path").Equal([]byte(path)) {
		t.Error("the cell does not hold PATH")
	}
	if os.Getenv("PATH") != path || os.Getenv("HOME") != home {
		t.Fatal("PATH or HOME changed")
	}
	if _, set := os.LookupEnv("ORDINARY_UPSTREAM_TOKEN"); set {
		t.Error("a variable named like a secret was left set")
	}
	wantSecret(t, cfg, "api.upstream", m)
	// The process can still start programs found through PATH.
	if runtime.GOOS != "windows" {
		if err := exec.Command("sh", "-c", "exit 0").Run(); err != nil {
			t.Errorf("exec after Load: %v", err)
		}
	}
}

// The Value of a key that does not exist says which key, where it is
// used, instead of "cell destroyed".
func TestTheValueOfAMissingKeyNamesIt(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "api:\n  key: "+marker(t)+"\n  host: h\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	tests := []struct{ key, says string }{
		{"api.keys", "api.keys is not set (did you mean api.key?)"},
		{"nothing.like.it", "nothing.like.it is not set"},
		{"api.host", "api.host holds a plain value, not a secret"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			v := cfg.Secret(tt.key)
			err := v.Use(func([]byte) error { return nil })
			if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Use: %v, want ErrMissing saying %q", err, tt.says)
			}
			if !errors.Is(v.Err(), ErrMissing) || v.Alive() {
				t.Error("Err or Alive disagree with Use")
			}
			if got := fmt.Sprint(v); got != "[REDACTED "+tt.key+"]" {
				t.Errorf("printed as %q", got)
			}
		})
	}
	cfg.Close()
	if err := cfg.Secret("api.key").Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("after Close, a key that existed reads %v, want ErrDestroyed", err)
	}
}

// Unmarshal hands every secret.Value field the Config's own cell, makes
// no cell, and keeps plain and secret apart in both directions.
func TestUnmarshalHandsOverCellsAndKeepsPlainAndSecretApart(t *testing.T) {
	a, b := marker(t), marker(t)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"),
		"db:\n  host: h\n  password: "+a+"\n  timeout: 2d12h\napi:\n  token: "+b+"\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	before := liveCells()
	var ok struct {
		DB struct {
			Host     string        `koanf:"host"`
			Password secret.Value  `koanf:"password"`
			Timeout  time.Duration `koanf:"timeout"`
		} `koanf:"db"`
		API struct {
			Token *secret.Value `koanf:"token"`
		} `koanf:"api"`
	}
	if err := cfg.Unmarshal("", &ok); err != nil {
		t.Fatal(err)
	}
	if liveCells() != before {
		t.Error("Unmarshal made cells")
	}
	if ok.DB.Password != cfg.Secret("db.password") || ok.API.Token == nil || *ok.API.Token != cfg.Secret("api.token") {
		t.Error("a secret field does not hold the Config's own cell")
	}
	if ok.DB.Host != "h" || ok.DB.Timeout != 60*time.Hour {
		t.Errorf("plain fields: host %q, timeout %v", ok.DB.Host, ok.DB.Timeout)
	}
	var plainIntoSecret struct {
		Host secret.Value `koanf:"host"`
	}
	if err := cfg.Unmarshal("db", &plainIntoSecret); !errors.Is(err, ErrNotSecret) {
		t.Errorf("a plain key into a secret.Value field: %v, want ErrNotSecret", err)
	}
	var secretIntoBytes struct {
		Password []byte `koanf:"password"`
	}
	err = cfg.Unmarshal("db", &secretIntoBytes)
	if !errors.Is(err, ErrPlainField) || !strings.Contains(err.Error(), "db.password") || len(secretIntoBytes.Password) != 0 {
		t.Errorf("a secret into a []byte field: %v, want ErrPlainField naming db.password and an empty field", err)
	}
	if liveCells() != before {
		t.Error("a failed Unmarshal made cells")
	}
}

// Aliases to maps that hold aliases to maps (a "billion laughs") would
// make the per-level YAML walk visit 9^9 entries; it is refused the way
// yaml.v3 refuses excessive aliasing, quickly.
func TestAYAMLAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {", i, i)
		for j := range 9 {
			fmt.Fprintf(&b, "k%d: *l%d, ", j, i-1)
		}
		b.WriteString("}\n")
	}
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), b.String(), 0o600)
	done := make(chan error, 1)
	go func() {
		cfg, err := Load(File(p))
		if err == nil {
			cfg.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("err = %v, want ErrSyntax", err)
		}
	case <-time.After(10 * time.Second * raceSlowdown):
		// Refused in 0.35 s here; walking the 9^9 nodes would take minutes.
		t.Fatalf("Load is still walking the aliases after %v", 10*time.Second*raceSlowdown)
	}
}
