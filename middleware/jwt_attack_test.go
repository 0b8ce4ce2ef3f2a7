package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
)

// An attacker's review of RequireJWT at the HTTP layer: header tricks
// that might get a token past it, and a refused token's claims reaching
// the failure handler.
func TestRequireJWTHeaderTricks(t *testing.T) {
	k, v := jwtKey(t, sign.Static(key(t, strings.Repeat("s", 32))))
	good := token(t, k, time.Now().Add(time.Hour))
	other, _ := jwt.HMACKey(jwt.HS256, "k1", sign.Static(key(t, strings.Repeat("o", 32))), "x")
	defer other.Close()
	forged := token(t, other, time.Now().Add(time.Hour))
	var sawClaims bool
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sawClaims = middleware.JWTClaims(r.Context())
		w.WriteHeader(http.StatusUnauthorized)
	})
	for _, guard := range []func(*jwt.Verifier) func(http.Handler) http.Handler{
		middleware.RequireJWT,
		middleware.NewGuard(middleware.WithFailureHandler(fail)).RequireJWT,
	} {
		h := guard(v)(http.HandlerFunc(whoami))
		for _, c := range []struct {
			name string
			auth []string
			ok   bool
		}{
			{"a forged token", []string{"Bearer " + forged}, false},
			{"a forged token, then a good one", []string{"Bearer " + forged, "Bearer " + good}, false},
			{"a good token with trailing text", []string{"Bearer " + good + " x"}, false},
			{"a good token split by a space", []string{"Bearer " + good[:20] + " " + good[20:]}, false},
			{"a good token with a trailing dot", []string{"Bearer " + good + "."}, false},
			{"a good token in a comma list", []string{"Bearer " + good + ", Bearer " + forged}, false},
		} {
			sawClaims = false
			req := httptest.NewRequest("GET", "/me", nil)
			for _, a := range c.auth {
				req.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if (w.Code == 200) != c.ok {
				t.Errorf("%s: %d %q", c.name, w.Code, w.Body)
			}
			if sawClaims {
				t.Errorf("%s: the failure handler saw claims of a refused token", c.name)
			}
			if strings.Contains(w.Body.String()+strings.Join(w.Header().Values("WWW-Authenticate"), ""), good[:20]) {
				t.Errorf("%s: the response repeats the token", c.name)
			}
		}
	}
	// JWTError never quotes the token, whatever is wrong with it.
	var why error
	h := middleware.NewGuard(middleware.WithFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		why = middleware.JWTError(r.Context())
	}))).RequireJWT(v)(http.HandlerFunc(whoami))
	for _, tok := range []string{forged, good[:len(good)-1], good + "x", strings.Replace(good, "e", "f", 1)} {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if why == nil {
			t.Errorf("no error for a bad token")
			continue
		}
		for _, part := range strings.Split(tok, ".") {
			if len(part) >= 8 && strings.Contains(why.Error(), part[:8]) {
				t.Errorf("JWTError %q quotes the token", why)
			}
		}
		if !errors.Is(why, jwt.ErrSignature) && !errors.Is(why, jwt.ErrMalformed) {
			t.Logf("JWTError: %v", why)
		}
	}
}
