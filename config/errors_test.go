package config

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knadh/koanf/parsers/dotenv"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wine"
)

func TestBrokenFilesNeverEchoTheSecretOnTheBrokenLine(t *testing.T) {
	// quoted cases check first that the parser's own error does quote the
	// secret: only there is the sanitising in syntaxError put to the test.
	// Cases with a parser go through Source, which reports the provider's
	// type instead of a file name; koanf's dotenv parser is the only one
	// for that format whose errors quote the input.
	tests := []struct {
		name, file, content string
		line                int
		parser              koanf.Parser
		numeric             bool // the secret is a number too large for its type
		quoted              bool
	}{
		{name: "YAML with an unterminated quote", file: "c.yaml", content: "a: 1\ndb:\n  password: \"%s\n  host: x\n", line: 3},
		{name: "YAML with a stray mapping", file: "c.yaml", content: "a: 1\npassword: %s: x\n", line: 2},
		{name: "YAML with the secret as a local tag", file: "c.yaml", content: "!%s%%000\n", line: 1, quoted: true},
		{name: "YAML with the secret as an unknown alias", file: "c.yaml", content: "a: 1\npassword: *%s\n", line: 2, quoted: true},
		// A secret keeps its text whatever its tag or size; under a plain
		// key the parser must convert it, and fails.
		{name: "YAML with the value under a wrong tag", file: "c.yaml", content: "a: 1\nlimit: !!int %s\n", line: 2, quoted: true},
		{name: "JSON with an unquoted secret", file: "c.json", content: "{\n\"a\": 1,\n\"password\": %s\n}\n", line: 3},
		{name: "JSON with a broken string", file: "c.json", content: "{\n\"password\": \"%s\n}\n", line: 2},
		{name: "JSON that ends too soon", file: "c.json", content: "{\n\"a\": 1,\n\"password\": \"%s\"\n", line: 3},
		{name: "JSON with the value as an out-of-range number", file: "c.json", content: "{\n\"a\": 1,\n\"limit\": %s\n}\n", line: 3, numeric: true, quoted: true},
		{name: "TOML with an unquoted secret", file: "c.toml", content: "a = 1\npassword = %s\n", line: 2},
		{name: "TOML with a broken string", file: "c.toml", content: "a = 1\npassword = \"%s\n", line: 2},
		{name: "TOML with the value as an out-of-range integer", file: "c.toml", content: "a = 1\nlimit = %s\n", line: 2, numeric: true, quoted: true},
		{name: "TOML with the value as an out-of-range float", file: "c.toml", content: "a = 1\nlimit = %s.5e999\n", line: 2, numeric: true, quoted: true},
		{name: "dotenv with an unterminated quote", file: "c.env", content: "A=1\nPASSWORD=\"%s\n", line: 2},
		{name: "dotenv without an equals sign", file: "c.env", content: "A=1\nPASSWORD %s\n", line: 2},
		{name: "dotenv with a bad character in the name", file: "c.env", content: "A=1\n!PASSWORD=%s\n", line: 2},
		{name: "koanf's dotenv parser with an unterminated quote", content: "A=1\nPASSWORD=\"%s\n", line: 2, parser: dotenv.Parser(), quoted: true},
		{name: "koanf's dotenv parser without an equals sign", content: "A=1\nPASSWORD %s\n", line: 2, parser: dotenv.Parser(), quoted: true},
		{name: "koanf's dotenv parser with a bad character in the name", content: "A=1\n!PASSWORD=%s\n", line: 2, parser: dotenv.Parser(), quoted: true},
		{name: "koanf's YAML parser with the secret as an unknown alias", content: "a: 1\npassword: *%s\n", line: 2, parser: yaml.Parser(), quoted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" gives file and line but not the secret", func(t *testing.T) {
			m := marker(t)
			if tt.numeric {
				m = numericMarker(t)
			}
			content := fmt.Sprintf(tt.content, m)
			pa, where := tt.parser, "config.bytesProvider"
			var opt Option
			var raw error
			if pa == nil {
				where = writeFile(t, filepath.Join(wine.TempDir(t), tt.file), content, 0o600)
				opt = File(where)
				raw = rawParserError(where, []byte(content))
			} else {
				opt = Source(bytesProvider(content), pa)
				_, raw = pa.Unmarshal([]byte(content))
			}
			if tt.quoted && (raw == nil || !strings.Contains(raw.Error(), m)) {
				t.Fatal("the parser's own error does not quote the secret: the case proves nothing")
			}
			before := liveCells()
			_, err := Load(opt)
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("want ErrSyntax, got a different error (%v)", errors.Is(err, ErrSyntax))
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), m) || strings.Contains(e.Error(), m[:8]) {
					t.Fatal("the error chain contains the secret")
				}
			}
			msg := err.Error()
			if want := fmt.Sprintf("%s:%d:", where, tt.line); !strings.Contains(msg, want) {
				t.Errorf("error %q does not name %s", msg, want)
			}
			if after := liveCells(); after != before {
				t.Errorf("live cells: %d before, %d after", before, after)
			}
		})
	}
}

// numericMarker is a secret made of digits, too large for an int64 or a
// float64: parsers that fail to convert a number quote it.
func numericMarker(t testing.TB) string {
	t.Helper()
	b := make([]byte, 330)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	b[0] = '9'
	return string(b)
}

func TestSecretFileProblemsGiveClearErrors(t *testing.T) {
	dir := wine.TempDir(t)
	big := writeFile(t, filepath.Join(dir, "big", "blob"), strings.Repeat("x", 2048), 0o400)
	worldReadable := writeFile(t, filepath.Join(dir, "wr", "token"), "x", 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "hasdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []Option
		want string
		is   error // the system's own error, matched with errors.Is
	}{
		{"a file over MaxSecretSize is refused", []Option{SecretDir(filepath.Dir(big)), MaxSecretSize(1024)}, "more than the limit", nil},
		{"a _FILE variable naming a directory is refused", []Option{envFile(t, "SF1_", filepath.Join(dir, "hasdir")), Env("SF1_")}, "is a directory", nil},
		{"a dangling secret link is refused", []Option{envFile(t, "SF2_", filepath.Join(dir, "dangling")), Env("SF2_")}, "", fs.ErrNotExist},
		{"a world-readable secret file is refused with Strict", []Option{SecretDir(filepath.Dir(worldReadable)), Strict()}, "readable by every user", nil},
		{"a missing secret directory is refused", []Option{SecretDir(filepath.Join(dir, "missing"))}, "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.name, "link") {
				wine.Skip(t, "a symbolic link made with os.Symlink does not show as one")
			}
			_, err := Load(tt.opts...)
			if !errors.Is(err, ErrSecretFile) || !strings.Contains(err.Error(), tt.want) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want ErrSecretFile saying %q (and %v)", err, tt.want, tt.is)
			}
		})
	}

	t.Run("a world-readable secret file is a warning by default", func(t *testing.T) {
		var buf bytes.Buffer
		cfg, err := Load(SecretDir(filepath.Dir(worldReadable)), Logger(slog.New(slog.NewTextHandler(&buf, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		if !strings.Contains(buf.String(), "readable by every user") || !strings.Contains(buf.String(), worldReadable) {
			t.Errorf("no warning naming the file: %q", buf.String())
		}
	})
}

func envFile(t *testing.T, prefix, path string) Option {
	t.Setenv(prefix+"DB__PASSWORD_FILE", path)
	return Option{}
}

func TestEnvVariableAndItsFileVariableConflict(t *testing.T) {
	t.Setenv("CF_DB__PASSWORD", "x")
	t.Setenv("CF_DB__PASSWORD_FILE", writeFile(t, filepath.Join(wine.TempDir(t), "p"), "y", 0o600))
	_, err := Load(Env("CF_"))
	if !errors.Is(err, ErrReference) || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("err = %v, want ErrReference about both being set", err)
	}
}
