package middleware_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

func TestRequireBearerOverChi(t *testing.T) {
	current, previous, stranger := marker(t), marker(t), marker(t)
	long := strings.Repeat("L", middleware.MaxCredentialSize-len(current)) + current
	keys := []secret.Value{key(t, current), key(t, previous), key(t, long)}
	retiredValue := marker(t)
	retired := key(t, retiredValue)
	retired.Destroy()
	keys = append(keys, retired)

	for _, stack := range []struct {
		name string
		mws  []func(http.Handler) http.Handler
	}{
		{"after Tokens", []func(http.Handler) http.Handler{middleware.Tokens(), middleware.RequireBearer(keys...)}},
		{"on its own", []func(http.Handler) http.Handler{middleware.RequireBearer(keys...)}},
	} {
		for _, c := range []struct {
			name   string
			auth   []string
			want   int
			token  string // the token the handler must read
			errStr string // the error parameter expected in the challenge
		}{
			{name: "the current key is accepted", auth: []string{"Bearer " + current}, want: 200, token: current},
			{name: "the previous key is still accepted during rotation", auth: []string{"bearer " + previous}, want: 200, token: previous},
			{name: "an 8 KiB key is accepted", auth: []string{"Bearer " + long}, want: 200, token: long},
			{name: "a destroyed key is refused", auth: []string{"Bearer " + retiredValue}, want: 401, errStr: "invalid_token"},
			{name: "an unknown token is refused", auth: []string{"Bearer " + stranger}, want: 401, errStr: "invalid_token"},
			{name: "a missing token is refused", want: 401},
			{name: "an empty header is refused", auth: []string{""}, want: 401},
			{name: "a bare scheme is refused", auth: []string{"Bearer"}, want: 401},
			{name: "another scheme is refused", auth: []string{"Basic " + current}, want: 401},
			{name: "a malformed token is refused", auth: []string{"Bearer " + current + " " + current}, want: 401},
			{name: "a non-ASCII token is refused", auth: []string{"Bearer " + current + "\u00e9"}, want: 401},
			{name: "an oversized token is refused", auth: []string{"Bearer " + long + "x"}, want: 401},
			{name: "a repeated header is refused", auth: []string{"Bearer " + current, "Bearer " + current}, want: 401},
		} {
			t.Run(stack.name+"/"+c.name, func(t *testing.T) {
				done := make(chan struct{}, 1)
				var seen bytes.Buffer
				var tokenOK, readOK bool
				var kept secret.Value
				r := chi.NewRouter()
				r.Use(finished(done))
				r.Use(stack.mws...)
				r.Use(spy(&seen))
				r.Get("/", func(w http.ResponseWriter, r *http.Request) {
					v, ok := middleware.Token(r.Context())
					tokenOK = ok && v.Equal([]byte(c.token))
					// The guard compared without consuming: one read is left.
					readOK = v.Use(func(b []byte) error { return nil }) == nil
					kept = v
					io.WriteString(w, "welcome")
				})
				srv := serve(t, r)
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				if c.auth != nil {
					req.Header["Authorization"] = c.auth
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				<-done

				if resp.StatusCode != c.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
				}
				for _, m := range []string{current, previous, stranger, retiredValue} {
					if bytes.Contains(body, []byte(m)) || strings.Contains(seen.String(), m) {
						t.Error("the response or a downstream middleware shows the credential")
					}
					for k, vs := range resp.Header {
						if strings.Contains(k+strings.Join(vs, ","), m) {
							t.Error("a response header shows the credential")
						}
					}
				}
				if c.want == 200 {
					if !tokenOK || !readOK {
						t.Errorf("handler read the token: equal %v, readable once %v", tokenOK, readOK)
					}
					if kept.Alive() {
						t.Error("the token outlived the response")
					}
					return
				}
				ch := resp.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, "Bearer") || !strings.Contains(ch, c.errStr) {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge with %q", ch, c.errStr)
				}
				if len(body) > 64 {
					t.Errorf("the 401 body is %d bytes, want a short one", len(body))
				}
			})
		}
	}
}

func TestRequireAPIKey(t *testing.T) {
	good, bad := marker(t), marker(t)
	k := key(t, good)
	for _, stack := range []struct {
		name string
		mws  []func(http.Handler) http.Handler
	}{
		{"after Tokens", []func(http.Handler) http.Handler{middleware.Tokens(middleware.WithAPIKeys("X-Api-Key")), middleware.RequireAPIKey("x-api-key", k)}},
		{"on its own", []func(http.Handler) http.Handler{middleware.RequireAPIKey("X-Api-Key", k)}},
	} {
		for _, c := range []struct {
			name   string
			header []string
			want   int
		}{
			{"the right key is accepted", []string{good}, 200},
			{"a wrong key is refused", []string{bad}, 401},
			{"a missing key is refused", nil, 401},
			{"a repeated key is refused", []string{good, good}, 401},
			{"an empty key is refused", []string{""}, 401},
		} {
			t.Run(stack.name+"/"+c.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if c.header != nil {
					req.Header["X-Api-Key"] = c.header
				}
				rec := httptest.NewRecorder()
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					v, ok := middleware.APIKey(r.Context(), "X-Api-Key")
					if !ok || !v.Equal([]byte(good)) {
						t.Error("the handler cannot read the accepted key")
					}
					if dump, _ := httputil.DumpRequest(r, false); bytes.Contains(dump, []byte(good)) {
						t.Error("the handler's request still shows the key")
					}
				})
				for i := len(stack.mws) - 1; i >= 0; i-- {
					h = stack.mws[i](h)
				}
				h.ServeHTTP(rec, req)
				if rec.Code != c.want {
					t.Fatalf("status %d, want %d", rec.Code, c.want)
				}
				if c.want == 401 {
					if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `header="X-Api-Key"`) {
						t.Errorf("WWW-Authenticate %q does not name the header", ch)
					}
					if bytes.Contains(rec.Body.Bytes(), []byte(good)) || bytes.Contains(rec.Body.Bytes(), []byte(bad)) {
						t.Error("the 401 body repeats the key")
					}
				}
			})
		}
	}
}

func TestGuardOptions(t *testing.T) {
	good := marker(t)
	k := key(t, good)
	teapot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the failure handler sees the Authorization header")
		}
		w.WriteHeader(http.StatusTeapot)
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, c := range []struct {
		name string
		mw   func(http.Handler) http.Handler
		auth string
		want int
	}{
		{"a custom failure handler answers a refusal", middleware.NewGuard(middleware.WithFailureHandler(teapot)).RequireBearer(k), "Bearer nope", http.StatusTeapot},
		{"a custom failure handler is not called on success", middleware.NewGuard(middleware.WithFailureHandler(teapot)).RequireBearer(k), "Bearer " + good, 200},
		{"a custom scheme is accepted", middleware.NewGuard(middleware.WithScheme("Token")).RequireBearer(k), "Token " + good, 200},
		{"a custom scheme refuses Bearer", middleware.NewGuard(middleware.WithScheme("Token")).RequireBearer(k), "Bearer " + good, 401},
		{"a guard without keys refuses everything", middleware.RequireBearer(), "Bearer " + good, 401},
		{"the zero Guard works", middleware.Guard{}.RequireBearer(k), "Bearer " + good, 200},
		{"an invalid API-key header name refuses everything", middleware.RequireAPIKey("bad header", k), "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", c.auth)
			req.Header.Set("Bad Header", good)
			rec := httptest.NewRecorder()
			c.mw(ok).ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d", rec.Code, c.want)
			}
		})
	}
}
