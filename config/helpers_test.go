package config

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/secretmem/secretmem/secret"
	"go.yaml.in/yaml/v3"
)

// marker returns a unique random secret for one test. Tests never print
// it: failures name keys, not values.
func marker(t testing.TB) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "mk" + hex.EncodeToString(b[:])
}

func writeFile(t testing.TB, path, content string, perm os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantSecret fails unless cfg holds want under key, in a cell.
func wantSecret(t testing.TB, cfg *Config, key, want string) {
	t.Helper()
	v, ok := cfg.LookupSecret(key)
	if !ok {
		t.Fatalf("%s is not a secret key; keys: %v", key, cfg.Keys())
	}
	if !v.Alive() {
		t.Fatalf("%s: cell is not alive", key)
	}
	if !v.Equal([]byte(want)) {
		t.Fatalf("%s: cell does not hold the expected secret (length %d, want %d)", key, v.Len(), len(want))
	}
}

// liveCells is the process's live cell count; tests that compare it run
// sequentially.
func liveCells() int { return secret.Stats().Live }

// ownCells is the cell every Config and Provider holds of its own, from
// the start of Load to Close: the key its change stamps are made with.
const ownCells = 1

// wantKinds checks that every key in secret is a secret key and every key
// in plain a plain key with a value.
func wantKinds(t *testing.T, cfg *Config, secret, plain []string) {
	t.Helper()
	for _, k := range secret {
		if !cfg.IsSecret(k) {
			t.Errorf("%s should be secret", k)
		}
	}
	for _, k := range plain {
		if cfg.IsSecret(k) || cfg.String(k) == "" {
			t.Errorf("%s should be plain and set", k)
		}
	}
}

// parseForTest runs the format File would pick for name over data, into
// a layer of its own, with opts applied.
func parseForTest(name string, data []byte, opts ...Option) (*layer, error) {
	parse, err := formatOf(name)
	if err != nil {
		return nil, err
	}
	return newLayer(newSettings(opts), name).fill(parse, data)
}

// rawParserError is what the parser behind name's format says of data on
// its own, quoting the input as it likes.
func rawParserError(name string, data []byte) error {
	var m map[string]any
	switch {
	case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"):
		return yaml.Unmarshal(data, &m)
	case strings.HasSuffix(name, ".json"):
		return json.Unmarshal(data, &m)
	case strings.HasSuffix(name, ".toml"):
		return toml.Unmarshal(data, &m)
	}
	return scanDotenv(data, func(string, dotenvValue, int) error { return nil })
}
