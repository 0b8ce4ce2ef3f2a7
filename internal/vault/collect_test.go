package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// collect runs the collector over a response body held in an ordinary
// slice (the Client holds it in protected memory).
func collect(t *testing.T, body string, m Mapping) (*Secret, error) {
	t.Helper()
	sec := &Secret{Path: m.Path}
	col := collector{s: &scanner{b: []byte(body)}, m: m, sec: sec}
	err := col.read(m.kv2())
	if err != nil {
		sec.Destroy()
		return nil, err
	}
	t.Cleanup(sec.Destroy)
	return sec, nil
}

// has checks that key's cell holds want, without printing either side.
func has(t *testing.T, sec *Secret, key, want string) {
	t.Helper()
	v, ok := sec.Value(key)
	if !ok {
		t.Fatalf("no key %s; keys %v", key, sec.Keys())
	}
	if !v.Equal([]byte(want)) {
		t.Errorf("%s does not hold what Vault sent (%d bytes, want %d)", key, v.Len(), len(want))
	}
}

const kv2Body = `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
"data":{"data":{"password":"p\u0040ss\"w","port":5432,"ratio":1.50,"big":123456789012345678901234567890,
"on":true,"db":{"user":"app","tls":{"key":"k1"}}},
"metadata":{"created_time":"2026-01-01T00:00:00Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":7}},
"wrap_info":null,"warnings":null,"auth":null}`

func TestAWholePathBecomesKeysUnderAPrefix(t *testing.T) {
	sec, err := collect(t, kv2Body, Mapping{Path: "secret/data/app", Prefix: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Version != 7 || sec.Lease.ID != "" {
		t.Errorf("version %d, lease %q; want 7 and none", sec.Version, sec.Lease.ID)
	}
	has(t, sec, "app.password", `p@ss"w`)
	// Numbers and booleans keep the JSON text Vault sent, exactly.
	has(t, sec, "app.port", "5432")
	has(t, sec, "app.ratio", "1.50")
	has(t, sec, "app.big", "123456789012345678901234567890")
	has(t, sec, "app.on", "true")
	// Objects are flattened with dots.
	has(t, sec, "app.db.user", "app")
	has(t, sec, "app.db.tls.key", "k1")
	if got := strings.Join(sec.Keys(), " "); got != "app.password app.port app.ratio app.big app.on app.db.user app.db.tls.key" {
		t.Errorf("keys %s", got)
	}
	v, _ := sec.Value("app.password")
	if got := v.String(); got != "[REDACTED app.password]" {
		t.Errorf("the cell prints as %q", got)
	}
}

func TestMappedFieldsBecomeTheirKeys(t *testing.T) {
	sec, err := collect(t, kv2Body, Mapping{Path: "secret/data/app", Fields: map[string]string{"password": "db.password", "port": "db.port"}})
	if err != nil {
		t.Fatal(err)
	}
	has(t, sec, "db.password", `p@ss"w`)
	has(t, sec, "db.port", "5432")
	if len(sec.Fields) != 2 {
		t.Errorf("%d fields, want the 2 mapped", len(sec.Fields))
	}
}

func TestDynamicSecretsCarryTheirLease(t *testing.T) {
	body := `{"request_id":"r","lease_id":"database/creds/app/AbC","renewable":true,"lease_duration":60,
"data":{"password":"A1a-xyz","username":"v-token-app-123"},"wrap_info":null,"warnings":null,"auth":null}`
	sec, err := collect(t, body, Mapping{Path: "database/creds/app", Prefix: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Lease.ID != "database/creds/app/AbC" || !sec.Lease.Renewable || sec.Lease.Duration.Seconds() != 60 {
		t.Errorf("lease %+v", sec.Lease)
	}
	has(t, sec, "db.username", "v-token-app-123")
	has(t, sec, "db.password", "A1a-xyz")
}

func TestKV1ReadsDataDirectly(t *testing.T) {
	body := `{"lease_id":"","renewable":false,"lease_duration":2764800,"data":{"data":"x","metadata":"y"}}`
	sec, err := collect(t, body, Mapping{Path: "kv/data/app", KV: 1, Prefix: "a"})
	if err != nil {
		t.Fatal(err)
	}
	has(t, sec, "a.data", "x")
	has(t, sec, "a.metadata", "y")
	if sec.Lease.ID != "" {
		t.Error("a KV v1 read has no lease")
	}
}

func TestWhatTheCollectorRefuses(t *testing.T) {
	v2 := func(fields string) string { return `{"data":{"data":{` + fields + `},"metadata":{"version":1}}}` }
	const sec = "hunter2-value"
	for _, c := range []struct {
		name string
		body string
		m    Mapping
		want error
	}{
		{"null", v2(`"a":null`), Mapping{Path: "s/data/x"}, ErrRefused},
		{"a list", v2(`"a":["` + sec + `"]`), Mapping{Path: "s/data/x"}, ErrRefused},
		{"an object where one field is mapped", v2(`"a":{"b":"` + sec + `"}`), Mapping{Path: "s/data/x", Fields: map[string]string{"a": "k"}}, ErrRefused},
		{"a missing mapped field", v2(`"a":"` + sec + `"`), Mapping{Path: "s/data/x", Fields: map[string]string{"a": "k", "b": "l"}}, ErrMissingField},
		{"a field twice", v2(`"a":"` + sec + `","a":"` + sec + `"`), Mapping{Path: "s/data/x"}, ErrMalformed},
		{"a deleted version", `{"data":{"data":null,"metadata":{"version":4,"deletion_time":"2026-01-01T00:00:00Z"}}}`, Mapping{Path: "s/data/x"}, ErrNotFound},
		{"no data", `{"lease_id":""}`, Mapping{Path: "kv/x"}, ErrMalformed},
		{"data that is a string", `{"data":"` + sec + `"}`, Mapping{Path: "kv/x"}, ErrMalformed},
		{"a KV v1 body read as KV v2", `{"data":{"password":"` + sec + `"}}`, Mapping{Path: "s/data/x"}, ErrMalformed},
		{"broken JSON inside a value", v2(`"a":"` + sec), Mapping{Path: "s/data/x"}, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := secret.Stats().Live
			_, err := collect(t, c.body, c.m)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes a value: %v", err)
			}
			if after := secret.Stats().Live; after != before {
				t.Errorf("%d cells live after the failure, %d before: a failed read must destroy what it made", after, before)
			}
		})
	}
}

func TestKVVersionIsToldByThePath(t *testing.T) {
	for path, want := range map[string]bool{
		"secret/data/app":        true,
		"team/secret/data/a/b":   true,
		"secret/data":            true,
		"data/app":               false, // a mount named data
		"database/creds/app":     false,
		"kv/app":                 false,
		"secret/metadata/app":    false,
		"secret/database/x":      false,
		"/secret/data/app/":      true,
		"secret/app/data/nested": true, // ambiguous: KV 1 says so
	} {
		if got := (Mapping{Path: path}).kv2(); got != want {
			t.Errorf("%s: kv2 %v, want %v", path, got, want)
		}
	}
	if (Mapping{Path: "secret/data/app", KV: 1}).kv2() {
		t.Error("KV: 1 must win over the path")
	}
}
