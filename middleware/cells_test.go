package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// TestNoCellOutlivesTheRequest counts the process's live cells around
// requests that leave their cells unread, read them, create ephemeral
// ones, panic, or are refused by a guard: every cell made for a request
// must be gone when it ends.
func TestNoCellOutlivesTheRequest(t *testing.T) {
	good := marker(t)
	k := key(t, good)
	header := http.Header{
		"Authorization": {"Bearer " + good},
		"X-Api-Key":     {marker(t)},
		"Cookie":        {"session=" + marker(t) + "; theme=dark"},
	}
	tokens := middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session"))
	for _, c := range []struct {
		name    string
		stack   func(http.Handler) http.Handler
		handler http.HandlerFunc
		auth    string
	}{
		{"Tokens with nothing read", tokens, func(w http.ResponseWriter, r *http.Request) {}, ""},
		{"Tokens with the token read", tokens, func(w http.ResponseWriter, r *http.Request) {
			v, _ := middleware.Token(r.Context())
			_ = v.Use(func([]byte) error { return nil })
		}, ""},
		{"Tokens with ephemeral cells", tokens, func(w http.ResponseWriter, r *http.Request) {
			for range 3 {
				if _, err := middleware.Ephemeral(r.Context(), []byte(good)); err != nil {
					t.Error(err)
				}
			}
		}, ""},
		{"Tokens with a panicking handler", tokens, func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }, ""},
		{"RequireBearer on its own, accepted", middleware.RequireBearer(k), func(w http.ResponseWriter, r *http.Request) {}, ""},
		{"RequireBearer on its own, refused", middleware.RequireBearer(k), func(w http.ResponseWriter, r *http.Request) {}, "Bearer " + marker(t)},
		{"RequireAPIKey on its own, refused", middleware.RequireAPIKey("X-Api-Key", k), func(w http.ResponseWriter, r *http.Request) {}, ""},
	} {
		t.Run(c.name+" leaves no live cell", func(t *testing.T) {
			before := secret.Stats().Live
			for range 10 {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				for name, vs := range header {
					req.Header[name] = append([]string(nil), vs...)
				}
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				func() {
					defer func() { _ = recover() }()
					c.stack(c.handler).ServeHTTP(httptest.NewRecorder(), req)
				}()
			}
			if after := secret.Stats().Live; after != before {
				t.Errorf("live cells: %d before, %d after the requests", before, after)
			}
		})
	}
}
