package middleware_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// FuzzTokens feeds arbitrary Authorization, API-key and Cookie headers to
// Tokens. The properties: no panic; nothing Tokens looks for is left where
// net/http, a handler or DumpRequest would find it; and whatever it
// extracts is a well-formed credential taken from the input.
func FuzzTokens(f *testing.F) {
	for _, seed := range []struct{ auth, auth2, apiKey, cookie string }{
		{"Bearer abc", "", "k", "session=s; theme=dark"},
		{"bearer   abc", "", "", ""},
		{"Bearer", "", "", "session="},
		{"Bearer abc", "Bearer abc", "k\x00", "session=a; session=a"},
		{"Basic dXNlcjpwYXNz", "", " k ", `session="quoted"`},
		{"Bearer \xff\xfe", "", "\u00e9", "a=1;session=x;;b=2"},
		{"Bearer " + strings.Repeat("x", 8193), "", strings.Repeat("y", 8193), "sid=" + strings.Repeat("z", 8193)},
		{"", "", "", " session = spaced ; sid=ok"},
		{"Bearer a b", "", "", "session\t=tab;\r\nsid=crlf"},
		{"Basic dXNlcg==", "", "", ""},   // Basic without a colon
		{"Basic dXNlcjo=", "", "", ""},   // an empty password
		{"Basic !!!!", "", "", ""},       // not base64
		{"basic   YTpiOmM=", "", "", ""}, // a colon in the password
		{"secretmem-taken.00.1.0", "", "secretmem-taken.x", "session=secretmem-taken.a.b.c"},
	} {
		f.Add(seed.auth, seed.auth2, seed.apiKey, seed.cookie)
	}
	tokens := middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session", "sid"))

	f.Fuzz(func(t *testing.T, auth, auth2, apiKey, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Authorization"] = []string{auth}
		if auth2 != "" {
			req.Header["Authorization"] = append(req.Header["Authorization"], auth2)
		}
		req.Header["X-Api-Key"] = []string{apiKey}
		req.Header["Cookie"] = []string{cookie}
		req.Header["Proxy-Authorization"] = []string{auth2}

		ran := false
		tokens(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			for _, name := range []string{"Authorization", "X-Api-Key", "Proxy-Authorization"} {
				if _, ok := r.Header[name]; ok {
					t.Errorf("%s is still in r.Header", name)
				}
			}
			for _, name := range []string{"session", "sid"} {
				if _, err := r.Cookie(name); !errors.Is(err, http.ErrNoCookie) {
					t.Errorf("net/http still finds the %s cookie", name)
				}
			}
			if dump, err := httputil.DumpRequest(r, false); err == nil &&
				(bytes.Contains(dump, []byte("\nAuthorization:")) || bytes.Contains(dump, []byte("\nX-Api-Key:")) ||
					bytes.Contains(dump, []byte("\nProxy-Authorization:"))) {
				t.Error("the dump still shows a credential header")
			}
			ctx := r.Context()
			tok, okTok := middleware.Token(ctx)
			key, okKey := middleware.APIKey(ctx, "X-Api-Key")
			sess, okSess := middleware.Cookie(ctx, "session")
			sid, okSid := middleware.Cookie(ctx, "sid")
			for _, c := range []struct {
				what string
				v    secret.Value
				ok   bool
				from string
			}{
				{"token", tok, okTok, auth},
				{"API key", key, okKey, apiKey},
				{"session cookie", sess, okSess, cookie},
				{"sid cookie", sid, okSid, cookie},
			} {
				if c.ok {
					wellFormed(t, c.what, c.v, c.from)
				}
			}
			if _, pw, ok := middleware.BasicAuth(ctx); ok && pw.Len() > len(auth) {
				// The password came out of the base64 in auth, so it is not
				// in auth as text: only its bounds can be checked.
				t.Error("a Basic password longer than its header")
			}
			if ptok, ok := middleware.ProxyToken(ctx); ok {
				wellFormed(t, "proxy token", ptok, auth2)
			}
		})).ServeHTTP(httptest.NewRecorder(), req)
		if !ran {
			t.Fatal("the handler did not run")
		}
	})
}

// wellFormed checks an extracted credential without printing it.
func wellFormed(t *testing.T, what string, v secret.Value, from string) {
	t.Helper()
	if n := v.Len(); n < 1 || n > middleware.MaxCredentialSize {
		t.Errorf("a %s of %d bytes was accepted", what, n)
	}
	err := v.Use(func(b []byte) error {
		for _, c := range b {
			if c < 0x21 || c > 0x7e {
				return errors.New("it is not visible ASCII")
			}
		}
		if !strings.Contains(from, string(b)) {
			return errors.New("it was not taken from the input")
		}
		return nil
	})
	if err != nil {
		t.Errorf("the %s: %v", what, err)
	}
}
