package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lmittmann/tint"
)

// fuzzPrefixes are credential contexts; whatever text the fuzzer puts
// around "prefix + marker + suffix", the marker must not reach the log.
var fuzzPrefixes = []struct{ prefix, suffix string }{
	{"postgres://app:", "@db/app"},
	{"Authorization: Bearer ", ""},
	{"host=db password=", ""},
	{`"token":"`, `"`},
	{"-----BEGIN PRIVATE KEY-----\n", ""},
	{"app:", "@tcp(db:3306)/app"},
	{"Cookie: session=", ";"},
	{"jwt: eyJhbGciOiJIUzI1NiJ9.", ".sig"},
	{"password: ", "\n"},
	{"\r\nX-Auth-Token: ", "\r\n"},
	{"https://", "@github.com/x"},
	{"Set-Cookie: sid=", "; Path=/; HttpOnly"},
	{"map[X-Vault-Token:[", "]]"},
	{"GET /q?f=%22eyJhbGciOiJIUzI1NiJ9.", ".c2ln%22"},
}

// FuzzRedact checks the redactor's property: a marker planted in a
// credential context never appears in the output, whatever text surrounds
// it, through JSON and tint, as a string, []byte, error, message and group
// member.
func FuzzRedact(f *testing.F) {
	seeds := []struct {
		kind          uint8
		before, after string
	}{
		{0, "connecting to ", ""},
		{1, "", " and more"},
		{2, "", " dbname=x"},
		{3, `{"user":"a",`, "}"},
		{4, "key ", "\n-----END PRIVATE KEY-----"},
		{5, "dsn=", ""},
		{6, "\xff\xfe", "; theme=dark"},
		{7, "==::@@", "'\"\\"},
		{0, "redis://:", "@@@/"},
		{8, "db:\n  ", "  host: x"},
		{9, "GET / HTTP/1.1\r\nHost: x", "\r\n"},
		{10, "clone ", ""},
		{11, "", ""},
		{12, "headers=", ""},
		{13, "", " HTTP/1.1"},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.before, s.after)
	}
	f.Fuzz(func(t *testing.T, kind uint8, before, after string) {
		const m = "Q7xMARKERz9K2v" // letters and digits fit every context above
		p := fuzzPrefixes[int(kind)%len(fuzzPrefixes)]
		s := before + p.prefix + m + p.suffix + after
		if strings.Contains(p.prefix, "eyJ") {
			s = before + p.prefix + "eyJ" + m + p.suffix + after // a JWT payload starts eyJ
		}
		var buf bytes.Buffer
		for _, h := range []slog.Handler{
			slog.NewJSONHandler(&buf, nil),
			tint.NewTextHandler(&buf, &tint.Options{NoColor: true}),
		} {
			l := slog.New(Redact(h, nil))
			l.Info(s, "v", s, "b", []byte(s), "err", errors.New(s), slog.Group("g", "note", s),
				"s", struct{ Note string }{s}, "m", map[string]string{"note": s})
			l.With("w", s).Info("with")
		}
		if bytes.Contains(buf.Bytes(), []byte(m)) {
			t.Fatalf("the marker reached the log (context %d)", kind%uint8(len(fuzzPrefixes)))
		}
	})
}

// Every check's trigger placed right before every credential context (and
// after it): one check's failed or finished match must not hide another's
// start. FuzzRedact found two such interplays; this walks them all.
func TestTriggersBeforeAContextHideNothing(t *testing.T) {
	const m = "Q7xMARKERz9K2v"
	triggers := []string{
		"eyJ", "ey", "e", "pAsswd:", "token=", "password", "Bearer", "Basic", "b",
		"ghp_", "sk-", "AKIA", "xoxb-", "postgres://", "://", "@tcp(", "@", "-----", "----",
		"=", ":", "-", "a:b@", "key=\"", "'", "\\",
	}
	for k, p := range fuzzPrefixes {
		for _, tr := range triggers {
			for _, s := range []string{
				tr + p.prefix + m + p.suffix,
				tr + " " + p.prefix + m + p.suffix,
				p.prefix + m + p.suffix + tr,
			} {
				if strings.Contains(p.prefix, "eyJ") {
					s = strings.Replace(s, m, "eyJ"+m, 1)
				}
				var buf bytes.Buffer
				l := slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil))
				l.Info("m", "v", s)
				if bytes.Contains(buf.Bytes(), []byte(m)) {
					t.Errorf("context %d after trigger %q: the marker reached the log", k, tr)
				}
			}
		}
	}
}
