package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/internal/testalloc"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
)

func jwtKey(t testing.TB, src secret.Source) (*jwt.Key, *jwt.Verifier) {
	t.Helper()
	k, err := jwt.HMACKey(jwt.HS256, "k1", src, "jwt.secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	v, err := jwt.NewVerifier(jwt.Options{Issuer: "issuer", Audience: "api"}, k)
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

func token(t testing.TB, k *jwt.Key, exp time.Time) string {
	t.Helper()
	tok, err := k.Sign(map[string]any{"iss": "issuer", "aud": "api", "sub": "alice", "exp": exp.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// whoami answers with the subject of the verified claims, and whether the
// token can still be read and is still in the headers.
func whoami(w http.ResponseWriter, r *http.Request) {
	c, ok := middleware.JWTClaims(r.Context())
	if !ok {
		http.Error(w, "no claims", 500)
		return
	}
	tok, _ := middleware.Token(r.Context())
	err := tok.Use(func([]byte) error { return nil })
	_, _ = io.WriteString(w, c.Subject+" "+r.Header.Get("Authorization")+"|"+strconvBool(errors.Is(err, secret.ErrConsumed)))
}

func TestRequireJWT(t *testing.T) {
	k, v := jwtKey(t, sign.Static(key(t, strings.Repeat("s", 32))))
	for _, withTokens := range []bool{true, false} {
		r := chi.NewRouter()
		if withTokens {
			r.Use(middleware.Tokens())
		}
		r.Use(middleware.RequireJWT(v))
		r.Get("/me", whoami)
		srv := serve(t, r)
		good := token(t, k, time.Now().Add(time.Hour))
		expired := token(t, k, time.Now().Add(-time.Hour))
		for _, c := range []struct {
			name, auth, want string
			status           int
			challenge        string
		}{
			{"valid", "Bearer " + good, "alice |true", 200, ""},
			{"no token", "", "unauthorized", 401, "Bearer"},
			{"another scheme", "Basic " + good, "unauthorized", 401, "Bearer"},
			{"expired", "Bearer " + expired, "unauthorized", 401, `Bearer error="invalid_token", error_description="the token has expired"`},
			{"tampered", "Bearer " + good[:len(good)-2] + "AA", "unauthorized", 401, `Bearer error="invalid_token", error_description="the token is invalid"`},
			{"not a JWT", "Bearer " + strings.Repeat("x", 40), "unauthorized", 401, `Bearer error="invalid_token", error_description="the token is invalid"`},
		} {
			req, _ := http.NewRequest("GET", srv.URL+"/me", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || strings.TrimSpace(string(body)) != c.want {
				t.Errorf("Tokens %v, %s: %d %q, want %d %q", withTokens, c.name, resp.StatusCode, body, c.status, c.want)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("Tokens %v, %s: challenge %q, want %q", withTokens, c.name, got, c.challenge)
			}
			if strings.Contains(string(body)+resp.Header.Get("WWW-Authenticate"), good[:20]) {
				t.Errorf("%s: the response repeats the token", c.name)
			}
		}
	}
}

func TestRequireJWTFailureHandlerKnowsWhy(t *testing.T) {
	k, v := jwtKey(t, sign.Static(key(t, strings.Repeat("s", 32))))
	var why error // the handler runs on this goroutine (ServeHTTP below)
	var sawClaims bool
	guard := middleware.NewGuard(middleware.WithFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		why = middleware.JWTError(r.Context())
		// An expired token's claims were read before its expiry was
		// checked: they must not reach the failure handler as if verified.
		_, sawClaims = middleware.JWTClaims(r.Context())
		w.WriteHeader(http.StatusTeapot)
	}))).RequireJWT(v)(http.HandlerFunc(whoami))
	// On its own RequireJWT makes the request scope; behind Tokens it
	// verifies into a context of its own, which a refusal must not hand
	// on either.
	for name, h := range map[string]http.Handler{"alone": guard, "behind Tokens": middleware.Tokens()(guard)} {
		for _, c := range []struct {
			auth string
			want error
		}{
			{"Bearer " + token(t, k, time.Now().Add(-time.Minute)), jwt.ErrExpired},
			{"Bearer a.b.c", jwt.ErrMalformed},
		} {
			why, sawClaims = nil, false
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("Authorization", c.auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusTeapot || !errors.Is(why, c.want) {
				t.Errorf("%s: %d, JWTError %v, want %v", name, w.Code, why, c.want)
			}
			if sawClaims {
				t.Errorf("%s, %v: the failure handler sees the refused token's claims", name, c.want)
			}
		}
	}
}

// A rotated secret verifies from the next request on.
func TestRequireJWTFollowsRotation(t *testing.T) {
	var cur atomic.Value
	cur.Store(key(t, strings.Repeat("a", 32)))
	src := secret.SourceFunc(func(string) secret.Value { return cur.Load().(secret.Value) })
	k, v := jwtKey(t, src)
	h := middleware.RequireJWT(v)(http.HandlerFunc(whoami))
	call := func(tok string) int {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	old := token(t, k, time.Now().Add(time.Hour))
	if code := call(old); code != 200 {
		t.Fatalf("before the rotation: %d", code)
	}
	cur.Store(key(t, strings.Repeat("b", 32)))
	if code := call(old); code != 401 {
		t.Errorf("a token of the replaced secret: %d, want 401", code)
	}
	if code := call(token(t, k, time.Now().Add(time.Hour))); code != 200 {
		t.Errorf("a token of the new secret: %d", code)
	}
}

func BenchmarkRequireJWT(b *testing.B) {
	k, v := jwtKey(b, sign.Static(key(b, strings.Repeat("s", 32))))
	tok := token(b, k, time.Now().Add(time.Hour))
	ok := func(w http.ResponseWriter, r *http.Request) {}
	for _, c := range []struct {
		name string
		mw   []func(http.Handler) http.Handler
	}{
		{"chi", nil},
		{"chi+Tokens", []func(http.Handler) http.Handler{middleware.Tokens()}},
		{"chi+Tokens+RequireJWT", []func(http.Handler) http.Handler{middleware.Tokens(), middleware.RequireJWT(v)}},
		{"chi+RequireJWT", []func(http.Handler) http.Handler{middleware.RequireJWT(v)}},
	} {
		r := chi.NewRouter()
		r.Use(c.mw...)
		r.Get("/me", ok)
		p := newPrepared(tok)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.serve(r)
			}
		})
	}
}

func strconvBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestRequireJWTAllocationBudget holds RequireJWT to its allocations per
// request over chi: on its own, one for the request scope, the claims and
// the request handed on, and one for the token's cell; behind Tokens, one
// for the claims, their context and the request handed on.
func TestRequireJWTAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k, v := jwtKey(t, sign.Static(key(t, strings.Repeat("s", 32))))
	tok := token(t, k, time.Now().Add(time.Hour))
	var ran int
	router := func(mw ...func(http.Handler) http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Use(mw...)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			if _, ok := middleware.JWTClaims(r.Context()); ok {
				ran++
			}
		})
		return r
	}
	per := func(h http.Handler) float64 {
		p := newPrepared(tok)
		return testalloc.PerRun(200, func() { p.serve(h) })
	}
	base := per(router())
	tokens := per(router(middleware.Tokens())) - base
	for _, c := range []struct {
		name   string
		h      http.Handler
		budget float64
	}{
		{"RequireJWT on its own adds 2 allocations", router(middleware.RequireJWT(v)), 2},
		{"RequireJWT behind Tokens adds 1 allocation to Tokens'", router(middleware.Tokens(), middleware.RequireJWT(v)), tokens + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ran = 0
			if got := per(c.h) - base; got > c.budget {
				t.Errorf("%v allocations per request over chi, budget %v", got, c.budget)
			}
			if ran == 0 {
				t.Error("the handler never saw verified claims: the count measured a refusal")
			}
		})
	}
}
