package middleware

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/secretmem/secretmem/secret"
)

// Guard builds middlewares that refuse requests without an accepted
// credential. Its zero value is ready to use and is what RequireBearer and
// RequireAPIKey use; NewGuard sets options (WithScheme, WithScrub,
// WithFailureHandler), which cannot share a variadic list with the keys.
type Guard struct{ cfg config }

// NewGuard returns a Guard configured by opts.
func NewGuard(opts ...Option) Guard { return Guard{cfg: collect(opts)} }

// RequireBearer is NewGuard().RequireBearer(keys...).
func RequireBearer(keys ...secret.Value) func(http.Handler) http.Handler {
	return Guard{}.RequireBearer(keys...)
}

// RequireAPIKey is NewGuard().RequireAPIKey(header, keys...).
func RequireAPIKey(header string, keys ...secret.Value) func(http.Handler) http.Handler {
	return Guard{}.RequireAPIKey(header, keys...)
}

// RequireBearer passes a request on only if its bearer token equals one of
// keys; list several to rotate keys without downtime, and Destroy a key to
// retire it (a destroyed key matches nothing, and so does an empty list).
// The comparison runs inside protected memory, in constant time for a
// given length, against every key, and does not consume the volatile
// token, so the handler can still read it once.
//
// After Tokens it checks the token Tokens took. Without Tokens it takes
// the token itself, the same way (the Authorization header is removed and
// the cell dies with the response), so Token works in the handler.
//
// A refused request gets 401 with a WWW-Authenticate challenge and a short
// body that never repeats the credential, or the WithFailureHandler
// handler.
func (g Guard) RequireBearer(keys ...secret.Value) func(http.Handler) http.Handler {
	c := g.cfg
	c.noBearer, c.apiKeys, c.cookies = false, nil, nil
	e := newExtractor(c)
	return g.require(e, kindBearer, "", keys, e.scheme, e.scheme+` error="invalid_token"`)
}

// RequireAPIKey passes a request on only if the named header holds one of
// keys; otherwise it behaves as RequireBearer. After Tokens configured
// with WithAPIKeys(header) it checks the key Tokens took; without it, it
// takes the header itself.
func (g Guard) RequireAPIKey(header string, keys ...secret.Value) func(http.Handler) http.Handler {
	c := g.cfg
	name := canonicalHeader(header)
	c.noBearer, c.apiKeys, c.cookies = true, nil, nil
	if isToken(name) {
		c.apiKeys = []string{name}
	}
	e := newExtractor(c)
	challenge := `APIKey header=` + strconv.Quote(name)
	return g.require(e, kindAPIKey, name, keys, challenge, challenge+`, error="invalid_key"`)
}

func (g Guard) require(e *extractor, k kind, name string, keys []secret.Value, absent, invalid string) func(http.Handler) http.Handler {
	keys = slices.Clone(keys)
	fail := g.cfg.onFailure
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sl, found := lookup(r.Context(), k, name)
			if !found {
				// No Tokens in front: take the credential ourselves.
				s := e.begin(r)
				defer s.end()
				r = r.WithContext(s)
				if len(s.slots) > 0 {
					sl = s.slots[0]
				}
			}
			if sl.ok && matchAny(sl.v, keys) {
				next.ServeHTTP(w, r)
				return
			}
			if fail != nil {
				fail.ServeHTTP(w, r)
				return
			}
			challenge := absent
			if sl.ok {
				challenge = invalid
			}
			h := w.Header()
			h.Set("WWW-Authenticate", challenge)
			h.Set("Cache-Control", "no-store")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		})
	}
}

// matchAny compares v with every key, without stopping at a match, so the
// time taken does not tell which key matched.
func matchAny(v secret.Value, keys []secret.Value) bool {
	ok := false
	for _, k := range keys {
		eq := v.EqualValue(k)
		ok = ok || eq
	}
	return ok
}
