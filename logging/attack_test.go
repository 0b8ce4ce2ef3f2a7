package logging

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// An attacker's review of the redactor (issue 14): each case is a way a
// careless service could log a secret, and each asserts the secret never
// reaches the output of a real handler.

// liveString makes s a live secret and returns it.
func liveString(t *testing.T, s string) string {
	t.Helper()
	Redact(slog.DiscardHandler, nil) // activates registration
	v, err := secret.FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	return s
}

// stringerOf is a Stringer whose text is whatever careless code made of
// a secret.
type stringerOf string

func (s stringerOf) String() string { return string(s) }

// valuerOf is a LogValuer that hands the redactor such text.
type valuerOf string

func (v valuerOf) LogValue() slog.Value { return slog.StringValue(string(v)) }

func TestAttacksOnLiveSecrets(t *testing.T) {
	// A password with the characters URL and JSON encoders escape.
	m := liveString(t, "p/"+randomFrom(t, alnumSet, 10)+"+x="+randomFrom(t, alnumSet, 10))
	// run is a part of m that no escape changes: any spelling of m but
	// hex carries it.
	run := m[2:12]
	cases := []struct {
		name string
		log  func(l *slog.Logger)
		// leaked are the spellings of m that must not appear.
		leaked []string
		// pointer: text handlers print a pointer where the value was,
		// so they show no redaction.
		pointer bool
	}{
		{"percent-encoded in a URL", func(l *slog.Logger) {
			l.Info("calling", "url", "https://hooks.example/notify?state="+url.QueryEscape(m))
		}, []string{m, url.QueryEscape(m)}, false},
		{"path-escaped in a URL", func(l *slog.Logger) {
			l.Info("calling", "url", "https://api.example/v1/"+url.PathEscape(m)+"/items")
		}, []string{m, url.PathEscape(m)}, false},
		{"percent-encoded in a form body", func(l *slog.Logger) {
			l.Info("form", "body", url.Values{"note": {m}}.Encode())
		}, []string{m, url.QueryEscape(m)}, false},
		{"with JSON's escaped slash", func(l *slog.Logger) {
			l.Info("upstream", "body", `{"data":"`+strings.ReplaceAll(m, "/", `\/`)+`"}`)
		}, []string{m, strings.ReplaceAll(m, "/", `\/`)}, false},
		{"%q through a Stringer", func(l *slog.Logger) {
			l.Info("event", "v", stringerOf(fmt.Sprintf("%q", m)))
		}, []string{m}, false},
		{"%x through a LogValuer", func(l *slog.Logger) {
			l.Info("event", "v", valuerOf(fmt.Sprintf("%x", m)))
		}, []string{fmt.Sprintf("%x", m)}, false},
		{"%X through a LogValuer", func(l *slog.Logger) {
			l.Info("event", "v", valuerOf(fmt.Sprintf("%X", m)))
		}, []string{fmt.Sprintf("%X", m)}, false},
		{"%v of its bytes through a LogValuer", func(l *slog.Logger) {
			l.Info("event", "v", valuerOf(fmt.Sprintf("%v", []byte(m))))
		}, []string{fmt.Sprint([]byte(m))[1:20]}, false},
		{"% x of its bytes through a Stringer", func(l *slog.Logger) {
			l.Info("event", "v", stringerOf(fmt.Sprintf("% x", m)))
		}, []string{fmt.Sprintf("% x", m[:8])}, false},
		{"%#v of a struct holding its bytes in the message", func(l *slog.Logger) {
			l.Info(fmt.Sprintf("got %#v", struct{ Data []byte }{[]byte(m)}))
		}, []string{fmt.Sprintf("%#v", []byte(m[:8]))[7:30]}, false},
		{"%+v of a struct holding its bytes in an error", func(l *slog.Logger) {
			l.Error("failed", "err", fmt.Errorf("bad request %+v", struct{ Body []byte }{[]byte(m)}))
		}, []string{fmt.Sprint([]byte(m))[1:20]}, false},
		{"as a JSON byte array made by the service", func(l *slog.Logger) {
			var a [32]byte
			copy(a[:], m)
			b, _ := json.Marshal(a)
			l.Info("event", "body", string(b))
		}, []string{strings.Trim(strings.ReplaceAll(fmt.Sprint([]byte(m)), " ", ","), "[]")[:20]}, false},
		{"in base64 of user:password", func(l *slog.Logger) {
			l.Info("event", "v", base64.StdEncoding.EncodeToString([]byte("user:"+m)))
		}, []string{b64Middle("user:", m, base64.StdEncoding)}, false},
		{"in a Docker config's auth", func(l *slog.Logger) {
			l.Info("event", "config", `{"auths":{"registry.example":{"auth":"`+
				base64.StdEncoding.EncodeToString([]byte("u:"+m))+`"}}}`)
		}, []string{b64Middle("u:", m, base64.StdEncoding)}, false},
		{"in URL base64 of a JSON document", func(l *slog.Logger) {
			l.Info("event", "state", base64.RawURLEncoding.EncodeToString([]byte(`{"pw":"`+m+`"}`)))
		}, []string{b64Middle(`{"pw":"`, m, base64.RawURLEncoding)}, false},
		{"%+v of a struct holding it through a Stringer", func(l *slog.Logger) {
			l.Info("event", "v", stringerOf(fmt.Sprintf("%+v", struct{ Note string }{m})))
		}, []string{m}, false},
		{"%#v of a struct holding it in the message", func(l *slog.Logger) {
			l.Info(fmt.Sprintf("got %#v", struct{ Note string }{m}))
		}, []string{m}, false},
		{"wrapped twice in errors", func(l *slog.Logger) {
			l.Error("failed", "err", fmt.Errorf("save: %w", fmt.Errorf("db: %w", errors.New("bad value "+m))))
		}, []string{m}, false},
		{"inside a *url.Error", func(l *slog.Logger) {
			l.Error("failed", "err", &url.Error{Op: "Get", URL: "https://x/?v=" + m, Err: errors.New("eof")})
		}, []string{m}, false},
		{"in json.RawMessage", func(l *slog.Logger) {
			l.Info("event", "body", json.RawMessage(`{"note":"`+strings.ReplaceAll(m, "/", `\/`)+`"}`))
		}, []string{m, strings.ReplaceAll(m, "/", `\/`)}, false},
		{"in a *[]byte", func(l *slog.Logger) { b := []byte(m); l.Info("event", "v", &b) }, []string{m}, false},
		{"in a *string in a map in a slice", func(l *slog.Logger) {
			s := m
			l.Info("event", "v", []map[string]*string{{"note": &s}})
		}, []string{m}, true},
		{"in a group nested ten deep", func(l *slog.Logger) {
			a := slog.String("note", m)
			for i := range 10 {
				a = slog.Group(fmt.Sprint("g", i), a)
			}
			l.Info("event", a)
		}, []string{m}, false},
		{"in []slog.Attr as a value", func(l *slog.Logger) {
			l.Info("event", "attrs", []slog.Attr{slog.String("note", m)})
		}, []string{m}, false},
	}
	for _, c := range cases {
		for _, o := range outputs {
			t.Run(c.name+" through "+o.name, func(t *testing.T) {
				var buf bytes.Buffer
				c.log(slog.New(Redact(o.new(&buf), nil)))
				for _, sp := range append(c.leaked, run) {
					if bytes.Contains(buf.Bytes(), []byte(sp)) {
						t.Fatalf("the live secret reached the output (%d bytes, not shown)", buf.Len())
					}
				}
				if !showsRedaction(buf.Bytes()) && !(c.pointer && o.name != "JSON") {
					t.Error("nothing was redacted, so the case tests nothing")
				}
			})
		}
	}
}

// b64Middle is the part of the base64 of prefix+m that only m's bytes
// determine.
func b64Middle(prefix, m string, enc *base64.Encoding) string {
	e := enc.EncodeToString([]byte(prefix + m))
	from := (len(prefix)*8 + 5) / 6
	to := (len(prefix) + len(m)) * 8 / 6
	return e[from:to]
}

// showsRedaction reports whether out shows "[REDACTED]" as text, as the
// base64 JSON gives bytes, or as the numbers fmt gives them.
func showsRedaction(out []byte) bool {
	return bytes.Contains(out, []byte(secret.Redacted)) || redactedAsNumbers(out) ||
		bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString([]byte(secret.Redacted))))
}

type attackCreds struct {
	User      string
	PassWord  string `json:"pass_word"`
	DBPass    string `json:"db-Password"`
	APIKey    string
	Nested    *attackCreds
	RawConfig json.RawMessage
}

func TestAttacksOnKeyNames(t *testing.T) {
	m := marker(t) // not live: only the key names can give it away
	keys := []string{
		"Authorization", "AUTHORIZATION", "authorization", "x-api-key", "X-API-KEY",
		"apiKey", "APIKey", "pass_word", "db-Password", "DB_PASSWORD", "dbPassword",
		"X-Amz-Security-Token", "clientSecret", "refresh_token", "Proxy-Authorization",
		"PRIVATE-TOKEN", "x-vault-token", "session_id", "SESSIONID", "jwt", "id_token",
		"privateKey", "secret_key", "set-cookie", "Cookie",
	}
	for _, k := range keys {
		for _, o := range outputs {
			t.Run(k+" through "+o.name, func(t *testing.T) {
				var buf bytes.Buffer
				l := slog.New(Redact(o.new(&buf), nil))
				l.Info("event", k, m)
				l.Info("event", slog.Group("req", slog.Group("h", slog.String(k, m))))
				l.With(k, m).Info("event")
				l.Info("event", "h", http.Header{http.CanonicalHeaderKey(k): {m}})
				l.Info("event", "m", map[string]any{k: []string{m}})
				l.Info("event", "text", k+"="+m)
				l.Info("event", "json", `{"`+k+`": "`+m+`"}`)
				l.Info("event", "raw", json.RawMessage(`{"x":{"`+k+`":"`+m+`"}}`))
				if bytes.Contains(buf.Bytes(), []byte(m)) {
					t.Fatalf("a value under %q reached the output", k)
				}
			})
		}
	}
	t.Run("struct fields by Go and JSON name", func(t *testing.T) {
		for _, o := range outputs {
			var buf bytes.Buffer
			c := &attackCreds{User: "u", PassWord: m, DBPass: m, APIKey: m,
				Nested:    &attackCreds{PassWord: m},
				RawConfig: json.RawMessage(`{"dsn":"postgres://u:` + m + `@db/x"}`)}
			slog.New(Redact(o.new(&buf), nil)).Info("event", "creds", c, "s", stringerOf(fmt.Sprintf("%+v", *c)))
			if bytes.Contains(buf.Bytes(), []byte(m)) {
				t.Fatalf("%s: a secret field reached the output", o.name)
			}
		}
	})
}
