package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	kjson "github.com/knadh/koanf/parsers/json"
	ktoml "github.com/knadh/koanf/parsers/toml/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wine"
)

// A fidelityCase is one way of writing a value, and the bytes a secret
// written that way must hold.
type fidelityCase struct {
	name    string
	written string
	want    string
}

// fidelityCases are, per format, the values whose text parsers like to
// change: leading zeros, integers longer than int64, floats and exponents,
// dates, YAML 1.1 booleans, null, empty, quotes, escapes, non-ASCII.
var fidelityCases = map[string][]fidelityCase{
	"yaml": {
		{"leading zeros (octal in YAML 1.1)", "00123456", "00123456"},
		{"an integer of 30 digits", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"a hexadecimal integer", "0x1F", "0x1F"},
		{"a YAML 1.2 octal integer", "0o17", "0o17"},
		{"a float with a trailing zero", "1.50", "1.50"},
		{"an exponent", "6.02E+23", "6.02E+23"},
		{"infinity", ".inf", ".inf"},
		{"a date", "2024-01-02", "2024-01-02"},
		{"a timestamp", "2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"},
		{"yes", "yes", "yes"},
		{"on", "on", "on"},
		{"true", "true", "true"},
		{"False", "False", "False"},
		{"null, which is an empty secret", "null", ""},
		{"a tilde, which is null", "~", ""},
		{"nothing at all, which is null", "", ""},
		{"an empty string", `""`, ""},
		{"a double-quoted string", `"quoted value"`, "quoted value"},
		{"a single-quoted string with a doubled quote", `'it''s'`, "it's"},
		{"escapes", `"tab\there\u00e9\n"`, "tab\there\u00e9\n"},
		{"a string tagged !!str", "!!str 0123", "0123"},
		{"a number tagged !!int out of range", "!!int 99999999999999999999999", "99999999999999999999999"},
		{"non-ASCII", "pässwörd-日本-🔑", "pässwörd-日本-🔑"},
		{"a literal block", "|\n    line one\n    line two", "line one\nline two\n"},
	},
	"json": {
		{"a string of digits with leading zeros", `"00123456"`, "00123456"},
		{"a number", "12345678", "12345678"},
		{"a number of 30 digits", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"a float with a trailing zero", "1.50", "1.50"},
		{"an exponent", "6.02E+23", "6.02E+23"},
		{"an exponent beyond float64", "1e400", "1e400"},
		{"negative zero", "-0.0", "-0.0"},
		{"true", "true", "true"},
		{"null, which is an empty secret", "null", ""},
		{"an empty string", `""`, ""},
		{"escapes", `"tab\t\"q\" \\ \/ \u00e9 \ud83d\udd11 \b\f\r\n"`, "tab\t\"q\" \\ / \u00e9 🔑 \b\f\r\n"},
		{"a lone surrogate escape, which encoding/json makes U+FFFD", `"x\ud800y"`, "x\ufffdy"},
		{"non-ASCII", `"pässwörd-日本"`, "pässwörd-日本"},
	},
	"toml": {
		{"a string of digits with leading zeros", `"00123456"`, "00123456"},
		{"an integer", "12345678", "12345678"},
		{"an integer beyond int64", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"an integer with underscores", "1_000_000", "1_000_000"},
		{"a hexadecimal integer", "0x1F", "0x1F"},
		{"a float with a trailing zero", "1.50", "1.50"},
		{"an exponent", "6.02e+23", "6.02e+23"},
		{"infinity", "inf", "inf"},
		{"a date", "2024-01-02", "2024-01-02"},
		{"a timestamp", "1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z"},
		{"a local time", "07:32:00.5", "07:32:00.5"},
		{"true", "true", "true"},
		{"an empty string", `""`, ""},
		{"a literal string", `'C:\path\n'`, `C:\path\n`},
		{"escapes", `"tab\t\"q\" \u00e9 \U0001F511"`, "tab\t\"q\" \u00e9 🔑"},
		{"a multi-line string", "\"\"\"\nline one\nline two\"\"\"", "line one\nline two"},
		{"non-ASCII", `"pässwörd-日本"`, "pässwörd-日本"},
	},
	"env": {
		{"leading zeros", "00123456", "00123456"},
		{"an integer of 30 digits", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"an exponent", "6.02E+23", "6.02E+23"},
		{"a date", "2024-01-02", "2024-01-02"},
		{"yes", "yes", "yes"},
		{"null, which is text in dotenv", "null", "null"},
		{"nothing", "", ""},
		{"a double-quoted value with escapes", `"tab\t \"q\" \\ \$HOME"`, "tab\t \"q\" \\ $HOME"},
		{"a single-quoted value", `'lit $HOME \n'`, `lit $HOME \n`},
		{"non-ASCII", "pässwörd-日本", "pässwörd-日本"},
	},
	"environment": {
		{"leading zeros", "00123456", "00123456"},
		{"an integer of 30 digits", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"an exponent", "6.02E+23", "6.02E+23"},
		{"a date", "2024-01-02", "2024-01-02"},
		{"yes", "yes", "yes"},
		{"null, which is text in a variable", "null", "null"},
		{"nothing", "", ""},
		{"quotes, which a variable keeps", `"quoted"`, `"quoted"`},
		{"a backslash sequence, which a variable keeps", `tab\t`, `tab\t`},
		{"non-ASCII", "pässwörd-日本", "pässwörd-日本"},
	},
}

// fidelityLine writes key = value in format.
func fidelityLine(format, key, value string) string {
	switch format {
	case "yaml":
		return key + ": " + value + "\n"
	case "json":
		return fmt.Sprintf("%q: %s", key, value)
	case "toml":
		return key + " = " + value + "\n"
	}
	return strings.ToUpper(key) + "=" + value + "\n"
}

func TestSecretsKeepTheTextTheyWereWrittenWith(t *testing.T) {
	for _, format := range []string{"yaml", "json", "toml", "env", "environment"} {
		cases := fidelityCases[format]
		var opts []Option
		switch format {
		case "environment":
			for i, c := range cases {
				t.Setenv(fmt.Sprintf("FIDELITY_TOKEN_%02d", i), c.written)
			}
			opts = []Option{Env("FIDELITY_"), NoWipe(WipeEnv)}
		default:
			var lines []string
			for i, c := range cases {
				lines = append(lines, fidelityLine(format, fmt.Sprintf("token_%02d", i), c.written))
			}
			text := strings.Join(lines, "")
			if format == "json" {
				text = "{" + strings.Join(lines, ",\n") + "}"
			}
			opts = []Option{File(writeFile(t, filepath.Join(wine.TempDir(t), "c."+format), text, 0o600))}
		}
		cfg, err := Load(opts...)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		defer cfg.Close()
		for i, c := range cases {
			key := fmt.Sprintf("token_%02d", i)
			if format == "env" {
				key = strings.ToUpper(key)
			}
			t.Run(format+": "+c.name+" keeps its text", func(t *testing.T) {
				v, ok := cfg.LookupSecret(key)
				if !ok {
					t.Fatalf("%s is not a secret", key)
				}
				// The values are test data, not secrets: printing them
				// says what went wrong.
				got, err := v.Reveal()
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != c.want {
					t.Errorf("the cell holds %q, written %q, want %q", got, c.written, c.want)
				}
			})
		}
	}
}

// Plain keys keep the values koanf's own parsers give them: the same
// documents, loaded as plain keys, equal what koanf loads.
func TestPlainKeysKeepKoanfsValues(t *testing.T) {
	parsers := map[string]koanf.Parser{"yaml": kyaml.Parser(), "json": kjson.Parser(), "toml": ktoml.Parser()}
	for format, pa := range parsers {
		var lines []string
		for i, c := range fidelityCases[format] {
			if strings.Contains(c.name, "beyond int64") || strings.Contains(c.name, "beyond float64") ||
				strings.Contains(c.name, "out of range") {
				continue // koanf refuses these: only a secret keeps them
			}
			lines = append(lines, fidelityLine(format, fmt.Sprintf("value_%02d", i), c.written))
		}
		lines = append(lines, fidelityLine(format, "list", map[string]string{
			"yaml": "[1, 007, on, 2024-01-02, {a: 1}]", "json": `[1, 1.5, "x", {"a": null}]`, "toml": `[1, 1.5, "x", {a = 1}]`}[format]))
		text := strings.Join(lines, "")
		if format == "json" {
			text = "{" + strings.Join(lines, ",\n") + "}"
		}
		t.Run(format, func(t *testing.T) {
			p := writeFile(t, filepath.Join(wine.TempDir(t), "c."+format), text, 0o600)
			cfg, err := Load(File(p), SecretNames())
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			want := koanf.New(".")
			b, _ := os.ReadFile(p)
			if err := want.Load(rawbytes.Provider(b), pa); err != nil {
				t.Fatal(err)
			}
			got := cfg.Koanf().All()
			keys := want.Keys()
			sort.Strings(keys)
			if g := cfg.Keys(); !reflect.DeepEqual(g, keys) {
				t.Fatalf("keys %v, koanf has %v", g, keys)
			}
			for _, k := range keys {
				if w := want.Get(k); !reflect.DeepEqual(got[k], w) {
					t.Errorf("%s = %#v (%T), koanf gives %#v (%T)", k, got[k], got[k], w, w)
				}
			}
		})
	}
}

// Source and Protect parse the bytes of koanf's YAML, JSON and TOML
// parsers as File does, keeping each secret's text; any other parser, and
// a provider of maps, hands over typed values, of which only integers and
// booleans have one sure text.
func TestSourcesKeepTheTextWhereTheyCan(t *testing.T) {
	tests := []struct {
		name string
		src  Option
		want string
		err  error
	}{
		{"koanf's YAML parser", Source(rawbytes.Provider([]byte("pin: 00123\n")), kyaml.Parser()), "00123", nil},
		{"config.YAML", Source(rawbytes.Provider([]byte("pin: 2024-01-02\n")), YAML()), "2024-01-02", nil},
		{"koanf's JSON parser", Source(bytesProvider(`{"pin": 12345678}`), kjson.Parser()), "12345678", nil},
		{"koanf's TOML parser", Source(bytesProvider("pin = 0x1F\n"), ktoml.Parser()), "0x1F", nil},
		{"a map with an integer", Source(mapProvider{"pin": 1234}, nil), "1234", nil},
		{"a map with a boolean", Source(mapProvider{"pin": true}, nil), "true", nil},
		{"a map with a string", Source(mapProvider{"pin": "00123"}, nil), "00123", nil},
		{"a map with a float, whose text is lost", Source(mapProvider{"pin": 1.5}, nil), "", ErrSecretType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.src, SecretKeys("pin"))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "pin") {
					t.Fatalf("err = %v, want %v naming pin", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			got, _ := cfg.Secret("pin").Reveal() // test data, not a secret
			if string(got) != tt.want {
				t.Errorf("the cell holds %q, want %q", got, tt.want)
			}
		})
	}
}
