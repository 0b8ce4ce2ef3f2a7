package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
)

func TestTypedGettersReadPlainValuesAndNeverSecrets(t *testing.T) {
	m := marker(t)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), `http:
  addr: ":8080"
  port: 8080
  big: 9000000000
  ratio: 0.75
  debug: true
  timeout: 1m30s
  timeout_ns: 1500
  hosts: [a, b]
db:
  password: `+m+`
  pin: 1234
`, 0o600)
	cfg, err := Load(File(p), SecretKeys("db.pin"))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()

	t.Run("each getter converts a plain value", func(t *testing.T) {
		checks := []struct {
			getter    string
			got, want any
		}{
			{"String", cfg.String("http.addr"), ":8080"},
			{"Int", cfg.Int("http.port"), 8080},
			{"Int64", cfg.Int64("http.big"), int64(9000000000)},
			{"Float64", cfg.Float64("http.ratio"), 0.75},
			{"Bool", cfg.Bool("http.debug"), true},
			{"Duration of a string", cfg.Duration("http.timeout"), 90 * time.Second},
			{"Duration of a number", cfg.Duration("http.timeout_ns"), 1500 * time.Nanosecond},
			{"Strings", fmt.Sprint(cfg.Strings("http.hosts")), "[a b]"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.getter, c.got, c.want)
			}
		}
	})

	// db.pin is a number under a secret key: every getter would convert
	// it if it reached the value. Getter results are not printed.
	for _, key := range []string{"db.pin", "db.password", "no.such.key"} {
		t.Run("every getter returns the zero value for "+key, func(t *testing.T) {
			if cfg.String(key) != "" || cfg.Int(key) != 0 || cfg.Int64(key) != 0 || cfg.Float64(key) != 0 ||
				cfg.Bool(key) || cfg.Duration(key) != 0 || cfg.Strings(key) != nil {
				t.Error("a getter returned a value")
			}
		})
	}
	if !cfg.IsSecret("db.pin") || !cfg.Secret("db.pin").Equal([]byte("1234")) {
		t.Error("db.pin is not a secret holding its number's text")
	}

	t.Run("Keys lists every flat key, secret ones included, sorted", func(t *testing.T) {
		want := []string{"db.password", "db.pin", "http.addr", "http.big", "http.debug", "http.hosts",
			"http.port", "http.ratio", "http.timeout", "http.timeout_ns"}
		if got := cfg.Keys(); !slices.Equal(got, want) {
			t.Errorf("Keys() = %v, want %v", got, want)
		}
	})
}

func TestTheDefaultSecretFileLimitIsOneMiB(t *testing.T) {
	dir := wine.TempDir(t)
	t.Run("a file of exactly 1 MiB is accepted", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "fits", "blob"), strings.Repeat("x", DefaultMaxSecretSize), 0o400)
		cfg, err := Load(SecretDir(filepath.Join(dir, "fits")))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		if v := cfg.Secret("blob"); v.Len() != DefaultMaxSecretSize {
			t.Errorf("the cell holds %d bytes, want %d", v.Len(), DefaultMaxSecretSize)
		}
	})
	t.Run("a file of 1 MiB and one byte is refused, naming file, size and limit", func(t *testing.T) {
		p := writeFile(t, filepath.Join(dir, "over", "blob"), strings.Repeat("x", DefaultMaxSecretSize+1), 0o400)
		before := liveCells()
		_, err := Load(SecretDir(filepath.Dir(p)))
		if !errors.Is(err, ErrSecretFile) {
			t.Fatalf("err = %v, want ErrSecretFile", err)
		}
		for _, want := range []string{p, "1048577 bytes", "limit of 1048576", "MaxSecretSize"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if after := liveCells(); after != before {
			t.Errorf("live cells: %d before, %d after", before, after)
		}
	})
}

func TestAKubernetesVolumeYieldsOnlyItsKeys(t *testing.T) {
	m1, m2 := marker(t), marker(t)
	vol := kubeVolume(t, wine.TempDir(t), map[string]string{"db.password": m1 + "\n", "api_key": m2})
	before := liveCells()
	cfg, err := Load(SecretDir(vol))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if got, want := cfg.Keys(), []string{"api_key", "db.password"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v: ..data or the timestamped directory leaked in", got, want)
	}
	// One cell per key: nothing was read a second time through ..data.
	if got := liveCells() - before - ownCells; got != 2 {
		t.Errorf("%d cells for 2 keys", got)
	}
	wantSecret(t, cfg, "db.password", m1)
	wantSecret(t, cfg, "api_key", m2)
}

func TestTheIssuesTokenPatternStopsAtOneLevel(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"),
		"token: a\napi:\n  token: b\n  token_ttl: 5m\n  tokens: c\nsvc:\n  token: d\n  deep:\n    token: e\n", 0o600)
	tests := []struct {
		name          string
		opts          []Option
		secret, plain []string
	}{
		{`SecretKeys("*.token") alone matches a token one level down`,
			[]Option{SecretNames(), SecretKeys("*.token")},
			[]string{"api.token", "svc.token"},
			[]string{"token", "api.token_ttl", "api.tokens", "svc.deep.token"}},
		{`SecretKeys("*.token") wins over PlainKeys naming the same key`,
			[]Option{PlainKeys("api.token", "svc.*"), SecretKeys("*.token")},
			[]string{"api.token", "svc.token", "token"},
			[]string{"svc.deep.token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(append([]Option{File(p)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			wantKinds(t, cfg, tt.secret, tt.plain)
		})
	}
}
