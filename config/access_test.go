package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestTypedGettersReadPlainValuesAndNeverSecrets(t *testing.T) {
	m := marker(t)
	p := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), `http:
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
