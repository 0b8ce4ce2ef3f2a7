package config

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestEnvNamesMapToKeys(t *testing.T) {
	tests := []struct {
		name, env, key string
		file, ok       bool
	}{
		{"a double underscore separates levels", "APP_DB__PASSWORD", "db.password", false, true},
		{"a single underscore stays inside a level", "APP_HTTP__READ_TIMEOUT", "http.read_timeout", false, true},
		{"a _FILE suffix marks a file reference", "APP_DB__PASSWORD_FILE", "db.password", true, true},
		{"a bare FILE is a key of its own", "APP_FILE", "file", false, true},
		{"three underscores keep one in the next level", "APP_A___B", "a._b", false, true},
		{"an empty level is refused", "APP_A____B", "", false, false},
		{"a leading separator is refused", "APP___A", "", false, false},
		{"a trailing separator is refused", "APP_A__", "", false, false},
		{"a dot is refused", "APP_A.B", "", false, false},
		{"another prefix is ignored", "OTHER_A", "", false, false},
		{"the prefix alone is ignored", "APP_", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, file, ok := envKey("APP_", tt.env)
			if key != tt.key || file != tt.file || ok != tt.ok {
				t.Fatalf("envKey(%q) = %q, %v, %v; want %q, %v, %v", tt.env, key, file, ok, tt.key, tt.file, tt.ok)
			}
		})
	}
}

func TestReferencesHaveAStrictSyntax(t *testing.T) {
	type refCase struct {
		name, in, target string
		kind             verdict
	}
	// An absolute path is one as the system defines it.
	abs := []refCase{
		{"an absolute file path is a file reference", "file:/run/secrets/db", "/run/secrets/db", fileRef},
	}
	if runtime.GOOS == "windows" {
		abs = []refCase{
			{"a drive path is a file reference", `file:C:\secrets\db`, `C:\secrets\db`, fileRef},
			{"a UNC path is a file reference", `file:\\server\share\db`, `\\server\share\db`, fileRef},
			{"a path without a drive is not", "file:/run/secrets/db", "", plainValue},
		}
	}
	tests := append(abs, []refCase{
		{"a relative path is not", "file:secrets/db", "", plainValue},
		{"a file URL is not", "file:///etc/passwd", "", plainValue},
		{"a POSIX variable name is an env reference", "env:DB_PASSWORD", "DB_PASSWORD", envRef},
		{"a name starting with a digit is not", "env:1X", "", plainValue},
		{"a tag like env:prod-eu is not", "env:prod-eu", "", plainValue},
		{"an empty name is not", "env:", "", plainValue},
		{"plain text is not", "hello", "", plainValue},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, target := parseReference(tt.in)
			if kind != tt.kind || target != tt.target {
				t.Fatalf("parseReference(%q) = %v, %q; want %v, %q", tt.in, kind, target, tt.kind, tt.target)
			}
		})
	}
}

func TestTheNameRuleMatchesLevels(t *testing.T) {
	tests := []struct {
		key    string
		secret bool
	}{
		{"db.password", true}, {"DB_PASSWORD", true}, {"smtp.passwd", true}, {"github-token", true},
		{"stripe.api_key", true}, {"stripe.apiKey", true}, {"tls.private_key", true}, {"gcp.credentials", true},
		{"tls.key", true}, {"secrets.db.user", true}, {"db.host", false}, {"cache_key_prefix", false},
		{"http.addr", false}, {"monkey", false},
	}
	for _, tt := range tests {
		name := tt.key + " is plain"
		if tt.secret {
			name = tt.key + " is secret"
		}
		t.Run(name, func(t *testing.T) {
			if got := nameRule(defaultSecretNames, tt.key); got != tt.secret {
				t.Fatalf("nameRule(%q) = %v", tt.key, got)
			}
		})
	}
}

func FuzzEnvKey(f *testing.F) {
	for _, s := range []string{"APP_DB__PASSWORD", "APP_A___B", "APP_A____B", "APP_X_FILE", "APP__FILE", "APP_", "APP_a.b", "APP_\x00", "APP_É__Ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		key, file, ok := envKey("APP_", name)
		if !ok {
			if key != "" || file {
				t.Fatal("a refused name returned a key")
			}
			return
		}
		if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
			t.Fatalf("malformed key %q from %q", key, name)
		}
		// The mapping is reversible for canonical (upper-case ASCII) names.
		rest := strings.TrimPrefix(name, "APP_")
		if file {
			rest = strings.TrimSuffix(rest, "_FILE")
		}
		if rest == strings.ToUpper(rest) && isASCII(rest) {
			if back := envName("APP_", key); back != "APP_"+rest {
				t.Fatalf("envName(%q) = %q, want %q", key, back, "APP_"+rest)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzReference(f *testing.F) {
	for _, s := range []string{"file:/a", "file://x", "file:rel", "env:A_1", "env:1", "env:", "file:/\x00", "envy:X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, target := parseReference(s)
		switch kind {
		case plainValue:
			if target != "" {
				t.Fatal("no reference but a target")
			}
		case fileRef:
			if s != "file:"+target || !filepath.IsAbs(target) || strings.HasPrefix(target, "//") || strings.ContainsRune(target, 0) {
				t.Fatalf("bad file reference %q from %q", target, s)
			}
		case envRef:
			if s != "env:"+target || !validEnvName(target) {
				t.Fatalf("bad env reference %q from %q", target, s)
			}
		default:
			t.Fatalf("unknown kind %v", kind)
		}
	})
}
