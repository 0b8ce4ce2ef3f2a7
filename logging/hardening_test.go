package logging

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// liveSecret returns a random marker held in a live cell, so only the
// redactor's recognition of live secrets stands between it and the log.
func liveSecret(t *testing.T) string {
	t.Helper()
	Redact(slog.DiscardHandler, nil) // activates registration
	m := marker(t)
	v, err := secret.FromString(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	return m
}

// spellings are the ways a handler or careless code can print m: as
// text, encoded, and as the numbers JSON and fmt print byte arrays as.
func spellings(m string) map[string]string {
	b := []byte(m)
	var jsonNums, fmtNums []string
	for _, c := range b {
		jsonNums = append(jsonNums, strconv.Itoa(int(c)))
	}
	fmtNums = jsonNums
	return map[string]string{
		"JSON numbers":   strings.Join(jsonNums, ","),
		"fmt numbers":    strings.Join(fmtNums, " "),
		"plaintext":      m,
		"base64":         base64.StdEncoding.EncodeToString(b),
		"unpadded":       base64.RawStdEncoding.EncodeToString(b),
		"URL base64":     base64.URLEncoding.EncodeToString(b),
		"hex":            hex.EncodeToString(b),
		"upper-case hex": strings.ToUpper(hex.EncodeToString(b)),
		"upper case":     strings.ToUpper(m),
	}
}

// redactedNumbers is how JSON and fmt print a byte array that holds
// "[REDACTED]": 91 82 69 68...
var redactedNumbers = func() string {
	var n []string
	for _, c := range []byte(secret.Redacted)[:4] {
		n = append(n, strconv.Itoa(int(c)))
	}
	return strings.Join(n, " ")
}()

func redactedAsNumbers(out []byte) bool {
	return bytes.Contains(out, []byte(redactedNumbers)) ||
		bytes.Contains(out, []byte(strings.ReplaceAll(redactedNumbers, " ", ",")))
}

func checkNoSpelling(t *testing.T, out []byte, m string) {
	t.Helper()
	for name, sp := range spellings(m) {
		if bytes.Contains(out, []byte(sp)) {
			t.Errorf("the secret reached the output as %s (%d bytes of output, not shown)", name, len(out))
		}
	}
}

type withBytes struct {
	Name string
	Key  []byte
}

type withArray struct {
	ID  int
	Raw [24]byte
}

type nested struct {
	Inner withBytes
	List  []withBytes
	Map   map[string][]byte
}

// TestALiveSecretReachesNoOutput pins the findings about places text can
// appear: keys, group names, With, WithGroup, bytes inside values, and
// every encoding a handler or careless code gives them.
func TestALiveSecretReachesNoOutput(t *testing.T) {
	m := liveSecret(t)
	var arr [24]byte
	copy(arr[:], m)
	cases := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"as an attribute key", func(l *slog.Logger) { l.Info("event", m, "value") }},
		{"as a group name", func(l *slog.Logger) { l.Info("event", slog.Group(m, slog.String("a", "b"))) }},
		{"as a WithGroup name", func(l *slog.Logger) { l.WithGroup(m).Info("event", "a", "b") }},
		{"as a With key", func(l *slog.Logger) { l.With(m, "v").Info("event") }},
		{"as a key inside a group", func(l *slog.Logger) { l.Info("event", slog.Group("g", slog.String(m, "v"))) }},
		{"as []byte in a struct", func(l *slog.Logger) { l.Info("event", "v", withBytes{"n", []byte(m)}) }},
		{"as a pointer to a struct", func(l *slog.Logger) { l.Info("event", "v", &withBytes{"n", []byte("id=" + m)}) }},
		{"as a byte array", func(l *slog.Logger) { l.Info("event", "v", arr) }},
		{"as a byte array in a struct", func(l *slog.Logger) { l.Info("event", "v", withArray{1, arr}) }},
		{"in nested values", func(l *slog.Logger) {
			l.Info("event", "v", nested{List: []withBytes{{Key: []byte(m)}}, Map: map[string][]byte{"k": []byte(m)}})
		}},
		{"as a map key", func(l *slog.Logger) { l.Info("event", "v", map[string]int{m: 1}) }},
		{"as hex", func(l *slog.Logger) { l.Info("event", "v", hex.EncodeToString([]byte(m))) }},
		{"as upper-case hex", func(l *slog.Logger) { l.Info("event", "v", strings.ToUpper(hex.EncodeToString([]byte(m)))) }},
		{"as base64", func(l *slog.Logger) { l.Info("event", "v", base64.StdEncoding.EncodeToString([]byte(m))) }},
		{"upper-cased", func(l *slog.Logger) { l.Info("event", "v", strings.ToUpper(m)) }},
		{"as \\u-escaped JSON text", func(l *slog.Logger) {
			esc := ""
			for _, c := range m {
				esc += `\u00` + hex.EncodeToString([]byte{byte(c)})
			}
			l.Info("event", "body", `{"x":"`+esc+`"}`)
		}},
		{"in an error of another type", func(l *slog.Logger) { l.Info("event", "err", &panicError{secret: "boom " + m}) }},
	}
	for _, c := range cases {
		for _, o := range outputs {
			t.Run(c.name+" through "+o.name, func(t *testing.T) {
				var buf bytes.Buffer
				c.log(slog.New(Redact(o.new(&buf), nil)))
				checkNoSpelling(t, buf.Bytes(), m)
				if c.name == "as a WithGroup name" && o.name == "a handler that ignores LogValuer" {
					return // it prints no group names at all
				}
				if !bytes.Contains(buf.Bytes(), []byte(secret.Redacted)) && !redactedAsNumbers(buf.Bytes()) {
					t.Error("nothing was redacted, so the case tests nothing")
				}
			})
		}
	}
}

// TestHeadersAndMapsAreRedactedByKey: credential-named keys inside maps
// and headers are matched as attribute keys are.
func TestHeadersAndMapsAreRedactedByKey(t *testing.T) {
	m := marker(t)
	for _, c := range []struct {
		name string
		v    any
	}{
		{"http.Header", http.Header{"X-Auth-Token": {m}, "Accept": {"*/*"}}},
		{"http.Header with X-Vault-Token", http.Header{"X-Vault-Token": {m}}},
		{"http.Header with Private-Token", http.Header{"Private-Token": {m}}},
		{"http.Header with Api-Key", http.Header{"Api-Key": {m}}},
		{"url.Values", url.Values{"access_token": {m}, "page": {"2"}}},
		{"map[string][]string", map[string][]string{"apiKey": {m}}},
		{"map[string]any", map[string]any{"db": map[string]any{"password": m}}},
		{"a struct with a json tag", struct {
			U string `json:"user"`
			P string `json:"client_secret"`
		}{"u", m}},
		{"a secret-named int field", struct{ Pin int }{12345678}},
	} {
		for _, o := range outputs {
			t.Run(c.name+" through "+o.name, func(t *testing.T) {
				var buf bytes.Buffer
				slog.New(Redact(o.new(&buf), nil)).Info("event", "v", c.v)
				if bytes.Contains(buf.Bytes(), []byte(m)) || bytes.Contains(buf.Bytes(), []byte("12345678")) {
					t.Fatalf("a value under a credential name reached the output (%d bytes)", buf.Len())
				}
				if !bytes.Contains(buf.Bytes(), []byte(secret.Redacted)) {
					t.Fatal("nothing was redacted")
				}
			})
		}
	}
}

func TestPatternsInText(t *testing.T) {
	m := marker(t)
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("X-Auth-Token", m)
	dump, err := httputil.DumpRequest(req, false)
	if err != nil {
		t.Fatal(err)
	}
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + m
	// Not live: only the pattern can find it, and the log must not carry
	// the base64 either.
	b64 := base64.StdEncoding.EncodeToString([]byte(m))
	for _, c := range []struct{ name, in string }{
		{"a password after a colon and a space", "password: " + m},
		{"a YAML line", "db:\n  password: " + m + "\n  host: x"},
		{"an httputil.DumpRequest line", string(dump)},
		{"a Set-Cookie header", "Set-Cookie: id=" + m + "; Path=/; HttpOnly"},
		{"a Set-Cookie session value", "session_id=" + m + "; Path=/; Secure"},
		{"a connect.sid cookie", "connect.sid=s%3A" + m + "; Path=/"},
		{"a token as a URL's user", "https://" + m + "@github.com/org/repo.git"},
		{"a JWT after %20", "GET /cb?auth=Bearer%20" + jwt},
		{"a JWT after %22", `GET /q?f=%22` + jwt + `%22`},
		{"Basic credentials without a colon", "Proxy-Authorization: Basic " + b64},
		{"Basic without a colon inside a sentence", "sent Basic " + b64 + " upstream"},
		{"a %+v map of headers", "map[Accept:[*/*] X-Auth-Token:[" + m + "]]"},
		{"a %+v struct with bytes", "{User:bob Password:[1 2 3] Token:[" + m + "]}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil)).Info("event", "v", c.in)
			if bytes.Contains(buf.Bytes(), []byte(m)) || bytes.Contains(buf.Bytes(), []byte(b64)) {
				t.Fatalf("the marker reached the output (%d bytes)", buf.Len())
			}
		})
	}
}

func TestNearMissesStayReadable(t *testing.T) {
	c := compile(nil)
	for _, in := range []string{
		"goroutine 1 [running]:\nmain.handler()\n\t/src/app/middleware/tokens.go:42 +0x1d",
		"max_tokens=512 token_count=3",
		`{"prompt_tokens":12,"completion_tokens":30}`,
		"invalid password: too short",
		"https://git@github.com/x/y.git",
		"Basic settings saved",
		"the session: ended early for user bob",
	} {
		if got, _ := c.text(in); got != in {
			t.Errorf("text(%q) = %q, want it unchanged", in, got)
		}
	}
	var buf bytes.Buffer
	slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil)).Info("llm", "max_tokens", 512, "token_count", 3, "usage", map[string]int{"input_tokens": 7})
	for _, want := range []string{`"max_tokens":512`, `"token_count":3`, `"input_tokens":7`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s is missing from %s", want, buf.String())
		}
	}
}

// fickle is a Stringer that answers differently on its second call: a
// check of one rendering and a print of another would let the secret
// through.
type fickle struct {
	calls  *atomic.Int32
	secret string
}

func (f fickle) String() string {
	if f.calls.Add(1) == 1 {
		return "harmless"
	}
	return "password=" + f.secret
}

func TestAStringerIsRenderedOnce(t *testing.T) {
	m := marker(t)
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			var calls atomic.Int32
			var buf bytes.Buffer
			slog.New(Redact(o.new(&buf), nil)).Info("event", "v", fickle{&calls, m})
			if bytes.Contains(buf.Bytes(), []byte(m)) {
				t.Fatal("the second rendering reached the output")
			}
			if calls.Load() > 1 {
				t.Errorf("String was called %d times, want at most once", calls.Load())
			}
		})
	}
}

// TestRedactionKeepsTheShape: a value that needs redaction stays an
// object (or array) in JSON, with only the secret member replaced.
func TestRedactionKeepsTheShape(t *testing.T) {
	m := marker(t)
	var buf bytes.Buffer
	slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil)).Info("event",
		slog.Group("req", slog.Any("form", userForm{User: "bob", Password: m})),
		"headers", http.Header{"X-Auth-Token": {m}, "Accept": {"*/*"}},
		"credentials", slog.GroupValue(slog.String("user", "u"), slog.String("pass", "p")),
	)
	var rec struct {
		Req struct {
			Form map[string]any `json:"form"`
		} `json:"req"`
		Headers map[string][]string `json:"headers"`
		Creds   map[string]string   `json:"credentials"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("the record does not keep its shape: %v", err)
	}
	if rec.Req.Form["user"] != "bob" || rec.Req.Form["password"] != secret.Redacted {
		t.Errorf("form = %v, want user bob and the password redacted", rec.Req.Form)
	}
	if rec.Headers["Accept"][0] != "*/*" || rec.Headers["X-Auth-Token"][0] != secret.Redacted {
		t.Errorf("headers = %v", rec.Headers)
	}
	if rec.Creds["user"] != secret.Redacted || rec.Creds["pass"] != secret.Redacted {
		t.Errorf("a group under a secret key: %v, want each value redacted", rec.Creds)
	}
}

func TestRenderingPanicsAndCyclesAreSafe(t *testing.T) {
	type node struct {
		Next  *node
		Token string
	}
	n := &node{Token: "x"}
	n.Next = n
	var buf bytes.Buffer
	l := slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil))
	l.Info("cycle", "n", n)
	l.Info("panics", "v", panicStringer{"s"})
	l.Info("channel", "c", make(chan int))
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("not JSON: %s", line)
		}
	}
}

// TestScratchIsWiped: buffers that held a rendering are zeroed when they
// grow and when they go back to the pool, so no copy of a secret waits in
// memory for the garbage collector.
func TestScratchIsWiped(t *testing.T) {
	m := []byte(marker(t))
	var b buffer
	_, _ = b.Write(m)
	old := b.b[:cap(b.b)]
	_, _ = b.Write(bytes.Repeat([]byte{'x'}, 4*cap(b.b)))
	if bytes.Contains(old, m) {
		t.Error("growing left the old array holding the secret")
	}
	sc := getScratch()
	var held [][]byte
	for _, bb := range []*buffer{&sc.json, &sc.text, &sc.out, &sc.dec} {
		_, _ = bb.Write(m)
		held = append(held, bb.b[:cap(bb.b)])
	}
	sc.release()
	for i, h := range held {
		if bytes.Contains(h, m) {
			t.Errorf("buffer %d still holds the secret after release", i)
		}
	}
}

func TestRenderingAllocatesNoUnwipedCopy(t *testing.T) {
	// What render hands over holds only checked text; the scratch it used
	// is wiped. A clean value keeps its text.
	c := compile(nil)
	r := c.render(withBytes{Name: "n", Key: []byte("plain bytes")})
	if !strings.Contains(r.text, "Name:n") || !json.Valid(r.json) {
		t.Fatalf("rendered %q / %s", r.text, r.json)
	}
}
