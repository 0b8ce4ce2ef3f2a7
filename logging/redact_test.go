package logging

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/lmittmann/tint"
	"github.com/secretmem/secretmem/internal/testalloc"
)

// randomFrom returns n random bytes of alphabet: unique markers that can
// only reach the output by leaking.
func randomFrom(t testing.TB, alphabet string, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	lowerHex = "0123456789abcdef"
	upperB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnumSet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func marker(t testing.TB) string { return "m" + randomFrom(t, lowerHex, 23) }

// output names a handler under test and how to build it over a buffer.
type output struct {
	name string
	new  func(w io.Writer) slog.Handler
}

var outputs = []output{
	{"JSON", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
	{"tint", func(w io.Writer) slog.Handler { return tint.NewTextHandler(w, &tint.Options{NoColor: true}) }},
	{"coloured tint", func(w io.Writer) slog.Handler { return tint.NewTextHandler(w, nil) }},
	{"a handler that ignores LogValuer", func(w io.Writer) slog.Handler { return &naiveHandler{w: w} }},
}

// naiveHandler prints values with %v without resolving LogValuers, the
// way some third-party handlers do.
type naiveHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *naiveHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *naiveHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &naiveHandler{w: h.w, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}
func (h *naiveHandler) WithGroup(string) slog.Handler { return h }
func (h *naiveHandler) Handle(_ context.Context, r slog.Record) error {
	fmt.Fprint(h.w, r.Message)
	print := func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindLogValuer {
			fmt.Fprintf(h.w, " %s=%#v", a.Key, a.Value.LogValuer())
		} else {
			fmt.Fprintf(h.w, " %s=%v", a.Key, a.Value.Any())
		}
		return true
	}
	for _, a := range h.attrs {
		print(a)
	}
	r.Attrs(print)
	_, err := fmt.Fprintln(h.w)
	return err
}

// leakyValuer hides its secret from %v only through LogValue.
type leakyValuer struct{ secret string }

func (v leakyValuer) LogValue() slog.Value { return slog.StringValue("password=" + v.secret) }

// configLike is what a config type does: LogValue returns a group of its
// settings, some of them secret.
type configLike struct{ dsn, apiKey, name string }

func (c configLike) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.name),
		slog.Group("db", slog.String("dsn", c.dsn), slog.Int("pool", 4)),
		slog.String("api_key", c.apiKey),
	)
}

type userForm struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// leak is one attempt to get a marker into the log.
type leak struct {
	name string
	// log writes something containing m with l.
	log func(t *testing.T, l *slog.Logger, m string)
	// marker makes the secret; nil means marker().
	marker func(t testing.TB) string
}

func attrLeak(name string, mk func(m string) slog.Attr) leak {
	return leak{name: name, log: func(_ *testing.T, l *slog.Logger, m string) { l.Info("event", mk(m)) }}
}

func stringLeak(name string, mk func(m string) string, gen func(t testing.TB) string) leak {
	return leak{
		name:   name,
		log:    func(_ *testing.T, l *slog.Logger, m string) { l.Info("event", "detail", mk(m)) },
		marker: gen,
	}
}

func gen(prefix, alphabet string, n int) func(t testing.TB) string {
	return func(t testing.TB) string { return prefix + randomFrom(t, alphabet, n) }
}

func leaks() []leak {
	var out []leak
	for _, k := range DefaultKeys() {
		if exact, ok := strings.CutPrefix(k, "="); ok {
			// A whole-key word: the key itself, in any case.
			out = append(out,
				attrLeak("the key "+exact, func(m string) slog.Attr { return slog.String(exact, m) }),
				attrLeak("the key "+exact+" in capitals", func(m string) slog.Attr {
					return slog.String(strings.ToUpper(exact), m)
				}),
			)
			continue
		}
		out = append(out,
			attrLeak("the key "+k, func(m string) slog.Attr { return slog.String(k, m) }),
			attrLeak("the key "+k+" in capitals with a prefix", func(m string) slog.Attr {
				return slog.String("DB_"+strings.ToUpper(k), m)
			}),
		)
	}
	tok := func(m string) string { return m }
	out = append(out,
		attrLeak("a key written as an HTTP header", func(m string) slog.Attr { return slog.String("X-Api-Key", m) }),
		attrLeak("a key in camel case", func(m string) slog.Attr { return slog.String("clientSecret", m) }),
		attrLeak("a secret key holding a number", func(m string) slog.Attr { return slog.Any("pin_password", []byte(m)) }),
		stringLeak("a bearer token", func(m string) string { return "Authorization: Bearer " + m }, nil),
		stringLeak("a bearer token in lower case", func(m string) string { return "bearer " + m }, nil),
		stringLeak("basic credentials", func(m string) string { return "Authorization: Basic " + m },
			func(t testing.TB) string { return base64.StdEncoding.EncodeToString([]byte("app:" + marker(t))) }),
		stringLeak("a JWT", tok, gen("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.", alnumSet, 43)),
		stringLeak("a JWT payload", func(m string) string { return "jwt eyJhbGciOiJub25lIn0." + m + "." }, gen("eyJ", alnumSet, 30)),
		stringLeak("a PEM private key", func(m string) string {
			return "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIE" + m + "\n-----END RSA PRIVATE KEY-----\ntrailer"
		}, nil),
		stringLeak("a PEM private key cut off", func(m string) string {
			return "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn" + m
		}, nil),
		stringLeak("a password in a URL", func(m string) string { return "postgres://app:" + m + "@db/app" }, nil),
		// Found by FuzzRedact: a key's value is cut at the first space, and
		// a longer credential that starts inside it must still be seen.
		stringLeak("a PEM block as a key's value", func(m string) string {
			return "pAsswd:-----BEGIN PRIVATE KEY-----\n" + m + "0"
		}, nil),
		stringLeak("a bearer token as a key's value", func(m string) string { return "token=Bearer " + m }, nil),
		stringLeak("a PEM block right after a failed JWT", func(m string) string {
			return "eyJ-----BEGIN PRIVATE KEY-----\n" + m + "0"
		}, nil),
		stringLeak("a password with an @ in a URL", func(m string) string { return "redis://:" + m + "@x@cache:6379/0" }, nil),
		stringLeak("a password in a MySQL DSN", func(m string) string { return "app:" + m + "@tcp(db:3306)/app?parseTime=true" }, nil),
		stringLeak("a password in a key=value DSN", func(m string) string { return "host=db user=app password=" + m + " dbname=app" }, nil),
		stringLeak("a quoted password in a DSN", func(m string) string { return "host=db password='" + m + " x' sslmode=off" }, nil),
		stringLeak("an ODBC password", func(m string) string { return "Server=db;Uid=app;Pwd=" + m + ";" }, nil),
		stringLeak("a token in a query string", func(m string) string { return "GET /cb?code=1&access_token=" + m + "&x=2" }, nil),
		stringLeak("a session cookie", func(m string) string { return "Cookie: theme=dark; session=" + m }, nil),
		stringLeak("a secret in JSON text", func(m string) string { return `{"user":"bob","api_key": "` + m + `"}` }, nil),
		stringLeak("a secret in %+v text", func(m string) string { return "{User:bob Password:" + m + "}" }, nil),
		stringLeak("an AWS access key ID", tok, gen("AKIA", upperB32, 16)),
		stringLeak("an AWS session key ID", tok, gen("ASIA", upperB32, 16)),
		stringLeak("a GitHub token", tok, gen("ghp_", alnumSet, 36)),
		stringLeak("a GitHub OAuth token", tok, gen("gho_", alnumSet, 36)),
		stringLeak("a GitHub fine-grained token", tok, gen("github_pat_", alnumSet, 82)),
		stringLeak("a GitLab token", tok, gen("glpat-", alnumSet, 20)),
		stringLeak("a Slack bot token", tok, gen("xoxb-1234-5678-", alnumSet, 24)),
		stringLeak("a Stripe secret key", tok, gen("sk_live_", alnumSet, 24)),
		stringLeak("a Google API key", tok, gen("AIza", alnumSet, 35)),
		stringLeak("an npm token", tok, gen("npm_", alnumSet, 36)),
		stringLeak("an Anthropic key", tok, gen("sk-ant-api03-", alnumSet, 40)),
		stringLeak("a Hugging Face token", tok, gen("hf_", "abcdefghijklmnopqrstuvwxyz", 34)),
		stringLeak("a Vault token", tok, gen("hvs.", alnumSet, 24)),
		stringLeak("a token in the middle of a sentence", func(m string) string {
			return "login for bob failed: token=" + m + " was rejected"
		}, nil),
		leak{name: "a token in the message", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("connecting to postgres://app:" + m + "@db/app")
		}},
		leak{name: "a token in an error chain", log: func(_ *testing.T, l *slog.Logger, m string) {
			inner := fmt.Errorf("dial postgres://app:%s@db/app: connection refused", m)
			l.Error("startup", "err", fmt.Errorf("open store: %w", fmt.Errorf("ping: %w", inner)))
		}},
		leak{name: "a token in a tint.Err", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Error("startup", tint.Err(errors.New("bad header: Bearer "+m)))
		}},
		leak{name: "a secret key inside nested groups", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("event", slog.Group("svc", slog.Group("db", slog.String("user", "app"), slog.String("password", m))))
		}},
		leak{name: "everything under a secret group name", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("event", slog.Group("credentials", slog.String("user", m)))
		}},
		leak{name: "a secret given to With", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.With("api_key", m).Info("event")
		}},
		leak{name: "a DSN given to With inside a group", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.WithGroup("db").With("dsn", "postgres://app:"+m+"@db/app").Info("event")
		}},
		leak{name: "everything under WithGroup of a secret name", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.WithGroup("secrets").Info("event", "stripe", m)
		}},
		leak{name: "a secret as []byte", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("event", "body", []byte("user=bob&password="+m))
		}},
		leak{name: "a LogValuer that reveals a secret", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("event", "v", leakyValuer{m})
		}},
		leak{name: "a config whose LogValue returns a group", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("config", "config", configLike{name: "svc", dsn: "postgres://app:" + m + "@db/app", apiKey: m})
		}},
		leak{name: "a struct with a password field", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("form", "form", userForm{User: "bob", Password: m})
		}},
		leak{name: "a map with a secret key", log: func(_ *testing.T, l *slog.Logger, m string) {
			l.Info("headers", "h", map[string]string{"Authorization": "Token " + m})
		}},
	)
	return out
}

func TestNoLeakTable(t *testing.T) {
	for _, lk := range leaks() {
		for _, o := range outputs {
			t.Run(lk.name+" does not leak through "+o.name, func(t *testing.T) {
				mk := lk.marker
				if mk == nil {
					mk = marker
				}
				m := mk(t)
				var buf bytes.Buffer
				lk.log(t, slog.New(Redact(o.new(&buf), nil)), m)
				if bytes.Contains(buf.Bytes(), []byte(m)) {
					t.Fatalf("the marker reached the log (%d bytes of output, not shown)", buf.Len())
				}
				if !bytes.Contains(buf.Bytes(), []byte("[REDACTED")) {
					t.Fatal("nothing was redacted, so the case tests nothing")
				}
			})
		}
	}
}

// TestLeakTableLeaksWithoutRedact proves the table can fail: without the
// redactor, the cases that reach the JSON handler directly do leak.
func TestLeakTableLeaksWithoutRedact(t *testing.T) {
	for _, lk := range leaks() {
		t.Run(lk.name+" leaks through a bare JSON handler", func(t *testing.T) {
			switch lk.name {
			case "a secret as []byte", "a secret key holding a number": // base64 in JSON
				t.Skip("JSON prints []byte as base64")
			}
			mk := lk.marker
			if mk == nil {
				mk = marker
			}
			m := mk(t)
			var buf bytes.Buffer
			lk.log(t, slog.New(slog.NewJSONHandler(&buf, nil)), m)
			if !bytes.Contains(buf.Bytes(), []byte(m)) {
				t.Fatal("the case never reaches the output, so its redaction proves nothing")
			}
		})
	}
}

func TestPatternsKeepTheTextAround(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a DSN keeps user, host and database", "postgres://app:hunter22@db/app", "postgres://app:[REDACTED]@db/app"},
		{"a URL without a password is unchanged", "https://git@github.com/x/y.git", "https://git@github.com/x/y.git"},
		{"a URL with a port is unchanged", "http://localhost:8080/path@x", "http://localhost:8080/path@x"},
		{"a key=value DSN keeps the other fields", "host=db password=s3cr3t! dbname=app", "host=db password=[REDACTED] dbname=app"},
		{"a bearer header keeps the scheme", "Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer [REDACTED]"},
		{"prose about bearer authentication is unchanged", "Bearer authentication failed", "Bearer authentication failed"},
		{"prose about basic settings is unchanged", "Basic settings saved", "Basic settings saved"},
		{"a password complaint is prose", "invalid password: too short", "invalid password: too short"},
		{"an unrelated key=value is unchanged", "user=bob status=200 path=/x?a=b", "user=bob status=200 path=/x?a=b"},
		{"an address with a port is unchanged", "10.1.2.3:54321", "10.1.2.3:54321"},
		{"a public key is unchanged", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{"a private key block is replaced whole", "a\n-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\nb", "a\n[REDACTED]\nb"},
		{"a token prefix inside a word is not a token", "the task-assessment-quarterly-report-2024-final is due", "the task-assessment-quarterly-report-2024-final is due"},
		{"an already redacted value stays as it is", "password=[REDACTED db.password]", "password=[REDACTED db.password]"},
	}
	c := compile(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := c.text(tt.in)
			if got != tt.want {
				// These inputs are fixtures, not secrets: printing is safe.
				t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts *RedactOptions
		attr slog.Attr
		want string // substring of the JSON output
	}{
		{"custom keys replace the defaults", &RedactOptions{Keys: []string{"pin"}},
			slog.String("pin", "1234"), `"pin":"[REDACTED]"`},
		{"custom keys drop the default ones", &RedactOptions{Keys: []string{"pin"}},
			slog.String("password", "x"), `"password":"x"`},
		{"allowed keys are not redacted by key", &RedactOptions{AllowKeys: []string{"KEY"}},
			slog.String("key", "user:42"), `"key":"user:42"`},
		{"allowed keys are still checked by pattern", &RedactOptions{AllowKeys: []string{"key"}},
			slog.String("key", "Bearer abcdef123456"), `"key":"Bearer [REDACTED]"`},
		{"a disabled pattern does not redact", &RedactOptions{Disable: PatternURLPassword},
			slog.String("db", "postgres://a:b0b0b0b0@db"), `"db":"postgres://a:b0b0b0b0@db"`},
		{"an extra pattern redacts its group", &RedactOptions{Patterns: []*regexp.Regexp{regexp.MustCompile(`acct-(\d{6})`)}},
			slog.String("ref", "acct-123456 ok"), `"ref":"acct-[REDACTED] ok"`},
		{"an extra pattern without a group redacts the match", &RedactOptions{Patterns: []*regexp.Regexp{regexp.MustCompile(`\d{3}-\d{2}-\d{4}`)}},
			slog.String("note", "ssn 123-45-6789"), `"note":"ssn [REDACTED]"`},
		{"MaxLen cuts long strings", &RedactOptions{MaxLen: 10},
			slog.String("note", "0123456789abcdef"), `"note":"0123456789[TRUNCATED 6 bytes]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(Redact(slog.NewJSONHandler(&buf, nil), tt.opts)).Info("m", tt.attr)
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("output %s does not contain %s", buf.String(), tt.want)
			}
		})
	}
}

func TestSlogtestConformance(t *testing.T) {
	var buf bytes.Buffer
	h := Redact(slog.NewJSONHandler(&buf, nil), nil)
	results := func() []map[string]any {
		var ms []map[string]any
		for _, line := range bytes.Split(buf.Bytes(), []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	if err := slogtest.TestHandler(h, results); err != nil {
		t.Fatal(err)
	}
}

type selfValuer struct{}

func (v selfValuer) LogValue() slog.Value { return slog.AnyValue(v) }

type groupOfSelf struct{}

func (v groupOfSelf) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("a", v), slog.Any("b", v))
}

type panicValuer struct{ secret string }

func (v panicValuer) LogValue() slog.Value { panic("boom " + v.secret) }

type panicError struct{ secret string }

func (e *panicError) Error() string { return e.secret }

type panicStringer struct{ secret string }

func (p panicStringer) String() string               { panic(p.secret) }
func (p panicStringer) MarshalJSON() ([]byte, error) { panic(p.secret) }

func TestBadInput(t *testing.T) {
	deep := slog.String("password", "x")
	for range 200 {
		deep = slog.Group("g", deep)
	}
	tests := []struct {
		name string
		log  func(l *slog.Logger, m string)
	}{
		{"a LogValuer that returns itself", func(l *slog.Logger, m string) { l.Info("x", "v", selfValuer{}, "m", "token="+m) }},
		{"a LogValuer whose group holds itself twice", func(l *slog.Logger, m string) { l.Info("x", "v", groupOfSelf{}, "p", "token="+m) }},
		{"a LogValuer that panics with the secret", func(l *slog.Logger, m string) { l.Info("x", "v", panicValuer{m}) }},
		{"a nil error whose Error panics", func(l *slog.Logger, m string) { var e *panicError; l.Info("x", "err", e, "p", "token="+m) }},
		{"a value whose String and MarshalJSON panic", func(l *slog.Logger, m string) { l.Info("x", "v", panicStringer{m}) }},
		{"200 nested groups", func(l *slog.Logger, m string) { l.Info("x", deep, "p", "token="+m) }},
		{"nil values", func(l *slog.Logger, m string) { l.Info("x", "a", nil, "b", (*int)(nil), "p", "token="+m) }},
		{"an empty attribute and an empty group", func(l *slog.Logger, m string) { l.Info("x", slog.Attr{}, slog.Group("g"), "p", "token="+m) }},
		{"a huge string", func(l *slog.Logger, m string) {
			l.Info("x", "s", strings.Repeat("a ", 1<<20)+"token="+m)
		}},
		{"a huge string of token characters", func(l *slog.Logger, m string) {
			l.Info("x", "s", "ghp_"+strings.Repeat("A", 1<<21)+m)
		}},
	}
	for _, tt := range tests {
		for _, o := range outputs {
			t.Run(tt.name+" through "+o.name+" is safe", func(t *testing.T) {
				m := marker(t)
				var buf bytes.Buffer
				done := make(chan struct{})
				go func() {
					defer close(done)
					tt.log(slog.New(Redact(o.new(&buf), nil)), m)
				}()
				select {
				case <-done:
				case <-time.After(30 * time.Second): // a hang, not a timing assertion
					t.Fatal("logging did not return")
				}
				if bytes.Contains(buf.Bytes(), []byte(m)) {
					t.Fatal("the marker reached the log")
				}
				if buf.Len() > 1<<20 {
					t.Fatalf("the output grew to %d bytes", buf.Len())
				}
			})
		}
	}
}

func TestConcurrentLoggingIsSafe(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	l := slog.New(Redact(slog.NewJSONHandler(w, nil), nil)).With("svc", "x")
	m := marker(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				l.WithGroup("g").Info("req", "i", i, "g", g, "auth", "Bearer "+m, "cfg", configLike{dsn: "mysql://a:" + m + "@h"})
			}
		}()
	}
	wg.Wait()
	if bytes.Contains(buf.Bytes(), []byte(m)) {
		t.Fatal("the marker reached the log")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestCommonPathAllocationBudget(t *testing.T) {
	// Over DiscardHandler the count is the redactor's own: slog's JSON
	// handler takes buffers from a sync.Pool, which the race detector
	// empties at random.
	h := Redact(slog.DiscardHandler, nil)
	r := benchRecord()
	ctx := context.Background()
	allocs := testalloc.PerRun(200, func() { _ = h.Handle(ctx, r) })
	if allocs != 0 {
		t.Fatalf("a record that needs no redaction cost %v allocations, want 0", allocs)
	}
}

// TestChangesAgreesWithAttr holds Handle's first look at an attribute to
// what attr does with it: the same verdict and the same budget spent, for
// every kind of value, under secret keys and not, with the budget left
// and spent.
func TestChangesAgreesWithAttr(t *testing.T) {
	m := marker(t)
	var nilPanicError *panicError
	attrs := []slog.Attr{
		slog.String("method", "GET"),
		slog.String("note", "token="+m),
		slog.String("password", "x"),
		slog.String("", "plain"),
		slog.String("", "password="+m),
		slog.Int("status", 200),
		slog.Int("token_count", 3),
		slog.Duration("elapsed", time.Second),
		slog.Time("at", time.Unix(0, 0)),
		slog.Bool("ok", true),
		slog.Float64("ratio", 0.5),
		slog.Uint64("n", 1),
		slog.Any("err", errors.New("upstream returned 503")),
		slog.Any("err", errors.New("dial postgres://app:"+m+"@db/app")),
		slog.Any("err", nilPanicError),
		slog.Any("raw", []byte("Bearer "+m)),
		slog.Any("raw", []byte("plain")),
		slog.Any("form", userForm{User: "u", Password: m}),
		slog.Any("nil", nil),
		slog.Any("v", panicStringer{m}),
		slog.Any("cfg", configLike{dsn: "postgres://app:" + m + "@db/app", apiKey: m, name: "n"}),
		slog.Any("v", leakyValuer{m}),
		slog.Any("secret", leakyValuer{m}),
		slog.Any("v", selfValuer{}),
		slog.Any("v", panicValuer{m}),
		slog.Group("g", slog.String("a", "b")),
		slog.Group("g", slog.String("secret", m)),
		slog.Group("session"),
		slog.Group("plain"),
		tint.Attr(9, slog.String("token", m)),
		tint.Attr(9, slog.String("msg", "fine")),
	}
	c := compile(nil)
	for i, a := range attrs {
		for _, all := range []bool{false, true} {
			for _, budget := range []int{maxNodes, 1, 0} {
				got, want := budget, budget
				changed := c.changes(a, all, &got)
				_, attrChanged := c.attr(a, 0, all, &want)
				if changed != attrChanged || got != want {
					t.Errorf("attribute %d (key %q, all %v, budget %d): changes says %v and leaves %d, attr says %v and leaves %d",
						i, a.Key, all, budget, changed, got, attrChanged, want)
				}
			}
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		opts  *Options
		check func(t *testing.T, out string)
	}{
		{"auto writes JSON to a buffer", nil, func(t *testing.T, out string) {
			if !json.Valid([]byte(out)) {
				t.Errorf("not JSON: %s", out)
			}
		}},
		{"text writes tint without colour to a buffer", &Options{Format: FormatText}, func(t *testing.T, out string) {
			if json.Valid([]byte(out)) || strings.Contains(out, "\x1b[") || !strings.Contains(out, "INF") {
				t.Errorf("not plain tint text: %q", out)
			}
		}},
		{"the level filters", &Options{Level: slog.LevelWarn}, func(t *testing.T, out string) {
			if out != "" {
				t.Errorf("an Info record passed a Warn level: %s", out)
			}
		}},
		{"source is added", &Options{AddSource: true, Format: FormatJSON}, func(t *testing.T, out string) {
			if !strings.Contains(out, `"source"`) {
				t.Errorf("no source: %s", out)
			}
		}},
		{"the time format applies to JSON", &Options{TimeFormat: time.DateOnly}, func(t *testing.T, out string) {
			// The whole value, closing quote included: RFC 3339 starts
			// with the date too. (Today's date was compared before, which
			// also fails a run that logs just before midnight.)
			if !regexp.MustCompile(`"time":"\d{4}-\d{2}-\d{2}"`).MatchString(out) {
				t.Errorf("time not in DateOnly form: %s", out)
			}
		}},
		{"the redactor is always on", &Options{Format: FormatJSON}, func(t *testing.T, out string) {
			if !strings.Contains(out, `"db":"postgres://app:[REDACTED]@db/app"`) {
				t.Errorf("not redacted: %s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			New(&buf, tt.opts).Info("connecting", "db", "postgres://app:hunter22@db/app")
			tt.check(t, strings.TrimSpace(buf.String()))
		})
	}
	t.Run("a nil writer discards", func(t *testing.T) {
		New(nil, nil).Info("nothing")
	})
}
