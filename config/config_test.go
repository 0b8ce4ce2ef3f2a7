package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

func TestEverySourceRoundTripsIntoCells(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		setup func(t *testing.T, dir, m string) []Option
	}{
		{"a YAML file puts db.password into a cell", "db.password", func(t *testing.T, dir, m string) []Option {
			return []Option{File(writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  host: h\n  password: "+m+"\n", 0o600))}
		}},
		{"a JSON file puts db.password into a cell", "db.password", func(t *testing.T, dir, m string) []Option {
			return []Option{File(writeFile(t, filepath.Join(dir, "c.json"), `{"db": {"host": "h", "password": "`+m+`"}}`, 0o600))}
		}},
		{"a TOML file puts db.password into a cell", "db.password", func(t *testing.T, dir, m string) []Option {
			return []Option{File(writeFile(t, filepath.Join(dir, "c.toml"), "[db]\nhost = \"h\"\npassword = \""+m+"\"\n", 0o600))}
		}},
		{"a dotenv file puts DB_PASSWORD into a cell", "DB_PASSWORD", func(t *testing.T, dir, m string) []Option {
			return []Option{File(writeFile(t, filepath.Join(dir, "app.env"), "HOST=h\nDB_PASSWORD="+m+"\n", 0o600))}
		}},
		{"an environment variable puts db.password into a cell", "db.password", func(t *testing.T, dir, m string) []Option {
			t.Setenv("RT1_DB__PASSWORD", m)
			t.Setenv("RT1_DB__HOST", "h")
			return []Option{Env("RT1_")}
		}},
		{"a _FILE variable reads the secret file into a cell", "db.password", func(t *testing.T, dir, m string) []Option {
			t.Setenv("RT2_DB__PASSWORD_FILE", writeFile(t, filepath.Join(dir, "db"), m+"\n", 0o600))
			return []Option{Env("RT2_")}
		}},
		{"a file: reference makes a plainly named key secret", "db.conn", func(t *testing.T, dir, m string) []Option {
			p := writeFile(t, filepath.Join(dir, "conn"), m+"\r\n", 0o400)
			return []Option{File(writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  conn: file:"+p+"\n", 0o600))}
		}},
		{"an env: reference makes a plainly named key secret", "api.upstream", func(t *testing.T, dir, m string) []Option {
			t.Setenv("RT3_UPSTREAM", m)
			return []Option{File(writeFile(t, filepath.Join(dir, "c.yaml"), "api:\n  upstream: env:RT3_UPSTREAM\n", 0o600))}
		}},
		{"a secret directory maps file names to keys", "db.password", func(t *testing.T, dir, m string) []Option {
			writeFile(t, filepath.Join(dir, "s", "db.password"), m+"\n", 0o400)
			writeFile(t, filepath.Join(dir, "s", "api", "key"), "other", 0o400)
			return []Option{SecretDir(filepath.Join(dir, "s"))}
		}},
		{"a Kubernetes secret volume is followed through ..data", "db.password", func(t *testing.T, dir, m string) []Option {
			return []Option{SecretDir(kubeVolume(t, dir, map[string]string{"db.password": m + "\n"}))}
		}},
		{"systemd credentials come from $CREDENTIALS_DIRECTORY", "db.password", func(t *testing.T, dir, m string) []Option {
			writeFile(t, filepath.Join(dir, "creds", "db.password"), m, 0o400)
			t.Setenv("CREDENTIALS_DIRECTORY", filepath.Join(dir, "creds"))
			return []Option{SystemdCredentials()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := marker(t)
			before := liveCells()
			cfg, err := Load(tt.setup(t, wine.TempDir(t), m)...)
			if err != nil {
				t.Fatal(err)
			}
			wantSecret(t, cfg, tt.key, m)
			if got := cfg.String(tt.key); got != "" {
				t.Errorf("String(%q) returned a non-empty value for a secret key", tt.key)
			}
			if h := cfg.String("db.host"); cfg.Exists("db.host") && h != "h" {
				t.Errorf("plain db.host = %q, want h", h)
			}
			v := cfg.Secret(tt.key)
			if err := cfg.Close(); err != nil {
				t.Fatal(err)
			}
			if v.Alive() {
				t.Error("a cell survived Close")
			}
			if after := liveCells(); after != before {
				t.Errorf("live cells: %d before Load, %d after Close", before, after)
			}
		})
	}
}

// kubeVolume lays out files the way the kubelet does: real files in a
// timestamped directory, ..data pointing at it, and one symbolic link per
// key through ..data.
func kubeVolume(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	wine.Skip(t, "symbolic links made with os.Symlink do not show in a directory listing")
	vol := filepath.Join(dir, "vol")
	ts := "..2024_05_01_10_00_00.123456789"
	for name, content := range files {
		writeFile(t, filepath.Join(vol, ts, name), content, 0o400)
	}
	if err := os.Symlink(ts, filepath.Join(vol, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	return vol
}

func TestKeysAreSecretByRuleAndOption(t *testing.T) {
	yaml := "db:\n  password: a\n  host: h\napi:\n  api_key: b\n  token_ttl: 5m\nsvc:\n  one:\n    handle: c\ntls:\n  key: d\n  cert: e\nname: n\n"
	tests := []struct {
		name   string
		opts   []Option
		secret []string
		plain  []string
	}{
		{"the default name rule protects passwords, api keys, tokens and tls keys", nil,
			[]string{"db.password", "api.api_key", "api.token_ttl", "tls.key"}, []string{"db.host", "tls.cert", "name", "svc.one.handle"}},
		{"SecretKeys adds glob patterns that stop at a level", []Option{SecretKeys("svc.*.handle", "tls")},
			[]string{"svc.one.handle", "tls.cert", "tls.key"}, []string{"db.host", "name"}},
		{"PlainKeys exempts a key the name rule would take", []Option{PlainKeys("api.token_ttl")},
			[]string{"db.password", "api.api_key"}, []string{"api.token_ttl"}},
		{"SecretNames with no words turns the name rule off", []Option{SecretNames()},
			nil, []string{"db.password", "api.api_key", "tls.key"}},
		{"SecretNames replaces the words", []Option{SecretNames("=cert")},
			[]string{"tls.cert"}, []string{"db.password", "tls.key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), yaml, 0o600)
			cfg, err := Load(append([]Option{File(p)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			wantKinds(t, cfg, tt.secret, tt.plain)
		})
	}
}

func TestLaterSourcesOverrideEarlierOnes(t *testing.T) {
	dir := wine.TempDir(t)
	a, b := marker(t), marker(t)
	f := writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  password: "+a+"\n  port: 1\n", 0o600)
	t.Setenv("OV_DB__PASSWORD", b)
	t.Setenv("OV_DB__PORT", "2")
	before := liveCells()
	cfg, err := Load(File(f), Env("OV_"))
	if err != nil {
		t.Fatal(err)
	}
	wantSecret(t, cfg, "db.password", b)
	if cfg.Int("db.port") != 2 {
		t.Errorf("db.port = %d, want 2 from the environment", cfg.Int("db.port"))
	}
	// The overridden file cell was destroyed at once: one cell, not two.
	if got := liveCells() - before - ownCells; got != 1 {
		t.Errorf("%d live cells after Load, want 1", got)
	}
	cfg.Close()
}

func TestFailedLoadsLeaveNothingBehind(t *testing.T) {
	dir := wine.TempDir(t)
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "db:\n  password: "+marker(t)+"\n", 0o600)
	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{"a": }`, 0o600)
	m := marker(t)
	t.Setenv("FL_API__TOKEN", m)
	tests := []struct {
		name string
		opts []Option
		want error
	}{
		{"a malformed file after a good one", []Option{File(good), Env("FL_"), File(bad)}, ErrSyntax},
		{"a missing required key", []Option{File(good), Env("FL_"), Require("x.y")}, ErrMissing},
		{"an unknown file extension", []Option{File(good), File(filepath.Join(dir, "c.ini"))}, ErrFormat},
		{"a reference to an unset variable", []Option{Env("FL_"), File(writeFile(t, filepath.Join(dir, "r.yaml"), "a: env:FL_NOT_SET_ANYWHERE\n", 0o600))}, ErrReference},
		{"a list under a secret name", []Option{File(good), File(writeFile(t, filepath.Join(dir, "l.yaml"), "tokens: [a, b]\n", 0o600))}, ErrSecretType},
		{"a secret inside a YAML list of maps", []Option{File(good), File(writeFile(t, filepath.Join(dir, "lm.yaml"), "servers:\n  - name: a\n    password: "+marker(t)+"\n", 0o600))}, ErrSecretType},
		{"a secret inside a TOML array of tables", []Option{File(good), File(writeFile(t, filepath.Join(dir, "lm.toml"), "[[servers]]\nname = \"a\"\n[servers.auth]\ntoken = \""+marker(t)+"\"\n", 0o600))}, ErrSecretType},
		{"a reference inside a list of maps", []Option{File(good), File(writeFile(t, filepath.Join(dir, "lr.json"), `{"hosts": [[{"upstream": "env:FL_API__TOKEN"}]]}`, 0o600))}, ErrSecretType},
		{"an empty Env prefix", []Option{Env("")}, ErrOption},
		{"a bad key pattern", []Option{SecretKeys("a[")}, ErrOption},
	}
	for _, tt := range tests {
		t.Run(tt.name+" loads nothing", func(t *testing.T) {
			before := liveCells()
			cfg, err := Load(tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if cfg != nil {
				t.Error("a Config came back with the error")
			}
			if after := liveCells(); after != before {
				t.Errorf("live cells: %d before, %d after the failed Load", before, after)
			}
			if v, ok := os.LookupEnv("FL_API__TOKEN"); !ok || v != m {
				t.Error("a failed Load touched the environment")
			}
		})
	}
}

func TestRequireListsEveryMissingKey(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "a: 1\n", 0o600)
	_, err := Load(File(p), Require("a", "db.password", "api.key"))
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("err = %v, want ErrMissing", err)
	}
	if !strings.Contains(err.Error(), "db.password, api.key") {
		t.Errorf("error %q does not list both missing keys", err)
	}
}

func TestRequireRefusesKeysSetButEmpty(t *testing.T) {
	const marker = "req-empty-neighbour-6d1f"
	dir := wine.TempDir(t)
	p := writeFile(t, filepath.Join(dir, "c.yaml"),
		"db:\n  password: \"\"\n  user: \"\"\n  hosts: []\n  opts: {}\n  none: null\n"+
			"svc:\n  token: "+marker+"\n  port: 0\n  debug: false\n", 0o600)
	sd := filepath.Join(dir, "secrets")
	if err := os.Mkdir(sd, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sd, "api.key"), "\n", 0o600) // only the newline Load trims
	t.Setenv("RQ_SIGNING__KEY", "")

	_, err := Load(File(p), Env("RQ_"), SecretDir(sd),
		Require("db.password", "db.user", "db.hosts", "db.opts", "db.none", "api.key", "signing.key", "absent",
			"svc.token", "svc.port", "svc.debug"))
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("err = %v, want ErrMissing", err)
	}
	msg := err.Error()
	want := "db.password (set but empty), db.user (set but empty), db.hosts (set but empty), " +
		"db.opts (set but empty), db.none (set but empty), api.key (set but empty), " +
		"signing.key (set but empty), absent"
	if !strings.HasSuffix(msg, ": "+want) {
		t.Errorf("error %q, want it to end in %q", msg, want)
	}
	for _, fine := range []string{"svc.token", "svc.port", "svc.debug"} {
		if strings.Contains(msg, fine) {
			t.Errorf("error names %s, which holds a value", fine)
		}
	}
	if strings.Contains(msg, marker) {
		t.Error("the error holds a secret value")
	}

	// The same keys with values load, and zero and false count as values.
	cfg, err := Load(File(p), Require("svc.token", "svc.port", "svc.debug"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cfg.Close()
}

func TestPrintingTheConfigNeverShowsASecret(t *testing.T) {
	m := marker(t)
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "db:\n  password: "+m+"\n  host: h\nlevel: debug\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()

	outputs := map[string]func() string{
		"slog JSON handler": func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
			return buf.String()
		},
		"slog text handler": func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", cfg)
			return buf.String()
		},
		"slog With": func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).With("config", cfg).Info("x")
			return buf.String()
		},
		"koanf Sprint": func() string { return cfg.Koanf().Sprint() },
		"koanf All":    func() string { return fmt.Sprint(cfg.Koanf().All()) },
		"Redacted as JSON": func() string {
			b, _ := json.Marshal(cfg.Redacted())
			return string(b)
		},
		"fmt %+v":             func() string { return fmt.Sprintf("%+v", cfg) },
		"fmt %#v":             func() string { return fmt.Sprintf("%#v", cfg.Secret("db.password")) },
		"fmt %v of the Value": func() string { return fmt.Sprint(cfg.Secret("db.password")) },
	}
	for name, out := range outputs {
		t.Run(name+" shows [REDACTED] and the plain values", func(t *testing.T) {
			s := out()
			if strings.Contains(s, m) {
				t.Fatal("the output contains the secret")
			}
			if name != "fmt %+v" && !strings.Contains(s, "REDACTED") {
				t.Errorf("no redaction marker in %q", s)
			}
			if strings.HasPrefix(name, "slog") && !strings.Contains(s, "debug") {
				t.Errorf("plain value missing from %q", s)
			}
		})
	}
}

func TestCloseDestroysEveryCell(t *testing.T) {
	dir := wine.TempDir(t)
	writeFile(t, filepath.Join(dir, "s", "a_token"), "x", 0o400)
	t.Setenv("CL_DB__PASSWORD", marker(t))
	before := liveCells()
	cfg, err := Load(SecretDir(filepath.Join(dir, "s")), Env("CL_"))
	if err != nil {
		t.Fatal(err)
	}
	if liveCells() == before {
		t.Fatal("Load made no cells")
	}
	v := cfg.Secret("db.password")
	cfg.Close()
	cfg.Close()
	if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Use after Close: %v, want ErrDestroyed", err)
	}
	if after := liveCells(); after != before {
		t.Errorf("live cells: %d before, %d after Close", before, after)
	}
}

func TestCellsArePooledUnlessGuardedIsAsked(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "password: x\n", 0o600)
	for _, tt := range []struct {
		name    string
		opts    []Option
		guarded int
	}{
		{"the default makes a pooled cell", nil, 0},
		{"Pooled makes a pooled cell", []Option{Pooled()}, 0},
		{"Guarded makes a guarded cell", []Option{Guarded()}, 1},
		{"the last of Pooled and Guarded wins", []Option{Guarded(), Pooled()}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := secret.Stats().Guarded
			cfg, err := Load(append([]Option{File(p)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			if got := secret.Stats().Guarded - g; got != tt.guarded {
				t.Errorf("%d guarded cells, want %d", got, tt.guarded)
			}
		})
	}
}

func TestPlainListsOfMapsLoad(t *testing.T) {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"),
		"servers:\n  - name: a\n    port: 1\n  - name: b\n    password_hash_algo: argon2\n", 0o600)
	cfg, err := Load(File(p), PlainKeys("servers.password_hash_algo"))
	if err != nil {
		t.Fatalf("a list without secrets was refused: %v", err)
	}
	defer cfg.Close()
	if !cfg.Exists("servers") {
		t.Error("servers is missing")
	}
}
