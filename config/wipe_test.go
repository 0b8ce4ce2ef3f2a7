package config

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/knadh/koanf/parsers/json"
	"github.com/secretmem/secretmem/internal/wine"
)

func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("heap detection and environment wiping are Linux-only")
	}
}

func isZero(s string) bool { return strings.Trim(s, "\x00") == "" }

func TestParserStringsOfSecretsAreWiped(t *testing.T) {
	requireLinux(t)
	tests := []struct {
		name, file, content, key string
		strings                  int // parser strings that held the secret
	}{
		// yaml.v3 makes a string of every scalar: it is overwritten.
		{"YAML", "c.yaml", "db:\n  password: %s\n  host: h\n", "db.password", 1},
		// The others take the secret from the scratch memory into the
		// cell: no string of it is ever made.
		{"JSON", "c.json", `{"db": {"password": "%s", "host": "h"}}`, "db.password", 0},
		{"TOML", "c.toml", "[db]\npassword = \"%s\"\nhost = \"h\"\n", "db.password", 0},
		{"dotenv", "c.env", "DB_PASSWORD=%s\nDB_HOST=h\n", "DB_PASSWORD", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+" leaves no parser string holding the secret", func(t *testing.T) {
			m := marker(t)
			var seen []string
			wipedString = func(s string) { seen = append(seen, s) }
			defer func() { wipedString = nil }()
			p := writeFile(t, filepath.Join(wine.TempDir(t), tt.file), fmt.Sprintf(tt.content, m), 0o600)
			cfg, err := Load(File(p))
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			wantSecret(t, cfg, tt.key, m)
			if len(seen) != tt.strings {
				t.Fatalf("%d strings wiped, want %d", len(seen), tt.strings)
			}
			for _, s := range seen {
				if len(s) != len(m) || !isZero(s) {
					t.Fatal("the wiped string still holds bytes of the secret")
				}
			}
			if cfg.String("db.host")+cfg.String("DB_HOST") != "h" {
				t.Error("wiping damaged a plain value")
			}
		})
	}
}

func TestAPlainAliasOfASecretKeepsItsValue(t *testing.T) {
	m := marker(t)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "user: &x "+m+"\npassword: *x\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	wantSecret(t, cfg, "password", m)
	if cfg.String("user") != m {
		t.Error("wiping the secret changed the plain key that aliases it")
	}
}

func TestEnvironmentSecretsAreUnsetAndWiped(t *testing.T) {
	requireLinux(t)
	t.Run("the variable is unset and the runtime's copy zeroed", func(t *testing.T) {
		m := marker(t)
		t.Setenv("EW_DB__PASSWORD", m)
		t.Setenv("EW_DB__HOST", "h")
		kv := findEnv(t, "EW_DB__PASSWORD=")
		cfg, err := Load(Env("EW_"))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		wantSecret(t, cfg, "db.password", m)
		if _, set := os.LookupEnv("EW_DB__PASSWORD"); set {
			t.Error("the variable is still set")
		}
		if os.Getenv("EW_DB__HOST") != "h" {
			t.Error("a plain variable was unset")
		}
		if strings.Contains(strings.Join(os.Environ(), "\n"), m) {
			t.Error("os.Environ still shows the secret")
		}
		if strings.Contains(kv, m) || !isZero(strings.TrimPrefix(kv, "EW_DB__PASSWORD=")) {
			t.Error("the runtime's string for the variable still holds the secret")
		}
	})
	t.Run("NoWipe(WipeEnv) leaves the variable set", func(t *testing.T) {
		m := marker(t)
		t.Setenv("EK_DB__PASSWORD", m)
		cfg, err := Load(Env("EK_"), NoWipe(WipeEnv))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		wantSecret(t, cfg, "db.password", m)
		if os.Getenv("EK_DB__PASSWORD") != m {
			t.Error("the variable was changed despite NoWipe")
		}
	})
}

func findEnv(t *testing.T, prefix string) string {
	t.Helper()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, prefix) {
			return kv
		}
	}
	t.Fatalf("%s not in the environment", prefix)
	return ""
}

// TestOriginalEnvironmentBlockIsWiped starts this test binary again with
// secrets in its initial environment, where /proc/self/environ and the
// kernel's copy live, and lets the child check itself.
func TestOriginalEnvironmentBlockIsWiped(t *testing.T) {
	requireLinux(t)
	if os.Getenv("CONFIG_ENV_CHILD") == "1" {
		environChild(t)
		return
	}
	m1, m2 := marker(t), marker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestOriginalEnvironmentBlockIsWiped$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CONFIG_ENV_CHILD=1", "EB_DB__PASSWORD="+m1, "EB_UPSTREAM_TOKEN="+m2)
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte(m1)) || bytes.Contains(out, []byte(m2)) {
		t.Fatal("the child printed a secret")
	}
	if err != nil || !bytes.Contains(out, []byte("environ child ok")) {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func environChild(t *testing.T) {
	// Clones: the strings Getenv returns share the bytes Load wipes.
	m1, m2 := strings.Clone(os.Getenv("EB_DB__PASSWORD")), strings.Clone(os.Getenv("EB_UPSTREAM_TOKEN"))
	block, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(block, []byte(m1)) || !bytes.Contains(block, []byte(m2)) {
		t.Fatal("the secrets are not in the initial environment block; the test proves nothing")
	}
	kv := findEnv(t, "EB_DB__PASSWORD=")
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "api:\n  upstream: env:EB_UPSTREAM_TOKEN\n", 0o600)
	cfg, err := Load(Env("EB_"), File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	wantSecret(t, cfg, "db.password", m1)
	wantSecret(t, cfg, "api.upstream", m2)
	block, err = os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []string{m1, m2} {
		if bytes.Contains(block, []byte(m)) {
			t.Fatalf("secret %d is still in /proc/self/environ", i+1)
		}
		if strings.Contains(strings.Join(os.Environ(), "\n"), m) {
			t.Fatalf("secret %d is still in os.Environ", i+1)
		}
	}
	if strings.Contains(kv, m1) {
		t.Fatal("the runtime's copy still holds the secret")
	}
	if !bytes.Contains(block, []byte("EB_DB__PASSWORD=")) {
		t.Fatal("the variable's name vanished from the block: the wipe hit the wrong bytes")
	}
	fmt.Println("environ child ok")
}

// wipesSeen is what one Load wiped, as seen from outside.
type wipesSeen struct {
	fileScratch    bool // the YAML file was parsed in a protected scratch cell
	providerBytes  bool // the Source provider's bytes were zeroed
	parserStrings  int  // parser strings overwritten in place
	envUnset       bool // the secret variable is gone from the environment
	envMemoryWiped bool // the runtime's string of the variable was zeroed
}

// loadAndWatchWipes loads a YAML file, a JSON Source and an environment
// variable, each holding one secret, and reports which leftovers were
// wiped. The file's scratch cell is seen from the scrub hook, which runs
// while the file's buffer is still alive: it is the only cell then besides
// the file's secret.
func loadAndWatchWipes(t *testing.T, opts ...Option) wipesSeen {
	t.Helper()
	m1, m2, m3 := marker(t), marker(t), marker(t)
	file := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "api:\n  token: "+m1+"\n", 0o600)
	raw := []byte(`{"svc": {"password": "` + m2 + `"}}`)
	t.Setenv("NW_DB__PASSWORD", m3)
	kv := findEnv(t, "NW_DB__PASSWORD=")

	var seen wipesSeen
	before := liveCells()
	fileCells := -1
	wipedString = func(string) {
		if seen.parserStrings == 0 {
			fileCells = liveCells() - before - ownCells
		}
		seen.parserStrings++
	}
	defer func() { wipedString = nil }()
	cfg, err := Load(append([]Option{File(file), Source(bytesProvider(raw), json.Parser()), Env("NW_")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	wantSecret(t, cfg, "api.token", m1)
	wantSecret(t, cfg, "svc.password", m2)
	wantSecret(t, cfg, "db.password", m3)

	switch fileCells {
	case -1: // no scrub hook ran: the scratch cannot be seen
	case 1:
	case 2:
		seen.fileScratch = true
	default:
		t.Fatalf("%d cells alive while the file's strings were scrubbed, want 1 or 2", fileCells)
	}
	seen.providerBytes = isZero(string(raw))
	if !seen.providerBytes && !bytes.Contains(raw, []byte(m2)) {
		t.Fatal("the provider's bytes were changed but not zeroed")
	}
	_, set := os.LookupEnv("NW_DB__PASSWORD")
	seen.envUnset = !set
	v := strings.TrimPrefix(kv, "NW_DB__PASSWORD=")
	seen.envMemoryWiped = isZero(v)
	if !seen.envMemoryWiped && v != m3 {
		t.Fatal("the runtime's string of the variable was changed but not zeroed")
	}
	return seen
}

func TestEachNoWipeTurnsOffOnlyItsOwnWipe(t *testing.T) {
	requireLinux(t)
	all := wipesSeen{fileScratch: true, providerBytes: true, parserStrings: 1, envUnset: true, envMemoryWiped: true}
	tests := []struct {
		name string
		opts []Option
		want wipesSeen
	}{
		{"by default every leftover is wiped", nil, all},
		{"NoWipe(WipeFileBuffers) reads the file onto the heap and leaves a provider's bytes",
			[]Option{NoWipe(WipeFileBuffers)},
			wipesSeen{fileScratch: false, providerBytes: false, parserStrings: 1, envUnset: true, envMemoryWiped: true}},
		// Without parser scrubbing the scrub hook never runs, so the
		// file's scratch cell cannot be seen; the provider's bytes stand
		// for the buffer wipe.
		{"NoWipe(WipeParserStrings) leaves the parser's strings",
			[]Option{NoWipe(WipeParserStrings)},
			wipesSeen{fileScratch: false, providerBytes: true, parserStrings: 0, envUnset: true, envMemoryWiped: true}},
		{"NoWipe(WipeEnvMemory) unsets the variable but leaves its bytes",
			[]Option{NoWipe(WipeEnvMemory)},
			wipesSeen{fileScratch: true, providerBytes: true, parserStrings: 1, envUnset: true, envMemoryWiped: false}},
		{"NoWipe(WipeEnv) leaves the variable set and its bytes alone",
			[]Option{NoWipe(WipeEnv)},
			wipesSeen{fileScratch: true, providerBytes: true, parserStrings: 1, envUnset: false, envMemoryWiped: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadAndWatchWipes(t, tt.opts...); got != tt.want {
				t.Errorf("wiped %+v, want %+v", got, tt.want)
			}
		})
	}
}
