package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/secretmem/secretmem/sign/jwt"
)

var (
	claimsKey   = &contextKey{"jwt claims"}
	jwtErrorKey = &contextKey{"jwt error"}
)

// errNoToken is what JWTError reports for a request without a bearer
// token.
var errNoToken = errors.New("middleware: no bearer token")

// RequireJWT is NewGuard().RequireJWT(v).
func RequireJWT(v *jwt.Verifier) func(http.Handler) http.Handler {
	return Guard{}.RequireJWT(v)
}

// RequireJWT passes a request on only if its bearer token is a JWT that v
// accepts (signature, algorithm, expiry, issuer, audience: see package
// sign/jwt); the handler reads the claims with JWTClaims. Keys are read
// through their secret.Source at each request, so a rotated key verifies
// from the next request on.
//
// The token is verified inside its volatile cell, where Tokens put it (or
// where RequireJWT puts it, taking it the same way, when Tokens is not in
// front): the verification is the cell's one read, so the token is wiped
// as soon as it has been checked, and Token reports secret.ErrConsumed
// afterwards. Only its header and claims are copied out.
//
// A refused request gets 401 with a WWW-Authenticate challenge
// (error="invalid_token", and an error_description that says whether the
// token expired) and a short body; neither repeats the token. With
// WithFailureHandler that handler answers instead, and JWTError tells it
// why.
func (g Guard) RequireJWT(v *jwt.Verifier) func(http.Handler) http.Handler {
	c := g.cfg
	c.noBearer, c.apiKeys, c.cookies = false, nil, nil
	e := newExtractor(c)
	fail := g.cfg.onFailure
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sl, found := lookup(r.Context(), kindBearer, ""); found {
				// Tokens (or a guard) in front took the token.
				ctx := &claimsContext{Context: r.Context()}
				if err := verifyJWT(v, sl, &ctx.claims); err != nil {
					refuseJWT(w, r, err, sl.ok, e.scheme, fail)
					return
				}
				ctx.req = *r.WithContext(ctx) // see jwtScope
				next.ServeHTTP(w, &ctx.req)
				return
			}
			s := &jwtScope{}
			s.init(r.Context(), e.slots)
			defer s.end()
			e.take(&s.scope, r.Header)
			var sl slot
			if len(s.slots) > 0 {
				sl = s.slots[0]
			}
			if err := verifyJWT(v, sl, &s.claims); err != nil {
				refuseJWT(w, r.WithContext(s), err, sl.ok, e.scheme, fail)
				return
			}
			s.verified = true
			// WithContext's copy is made on the stack and copied into s.
			s.req = *r.WithContext(s)
			next.ServeHTTP(w, &s.req)
		})
	}
}

// verifyJWT verifies the token in sl's cell, the cell's one read, into c.
func verifyJWT(v *jwt.Verifier, sl slot, c *jwt.Claims) error {
	if !sl.ok {
		return errNoToken
	}
	return sl.v.Use(func(b []byte) error { return v.VerifyTo(c, b) })
}

// refuseJWT answers a request RequireJWT refused: with the failure
// handler if there is one, else 401 and a challenge that says why.
// presented says whether the request carried a bearer token at all.
func refuseJWT(w http.ResponseWriter, r *http.Request, err error, presented bool, scheme string, fail http.Handler) {
	if fail != nil {
		fail.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), jwtErrorKey, err)))
		return
	}
	challenge := scheme
	if presented {
		desc := "the token is invalid"
		if errors.Is(err, jwt.ErrExpired) {
			desc = "the token has expired"
		}
		challenge += ` error="invalid_token", error_description="` + desc + `"`
	}
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Cache-Control", "no-store")
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// claimsContext carries the verified claims when Tokens in front made
// the request scope: one allocation for the context, the claims (with
// the header and payload they were decoded from) and the request handed
// on.
type claimsContext struct {
	context.Context
	claims jwt.Claims
	req    http.Request
}

func (c *claimsContext) Value(key any) any {
	if key == any(claimsKey) {
		return &c.claims
	}
	return c.Context.Value(key)
}

// String names the context without printing the claims.
func (c *claimsContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(secretmem/middleware jwt claims)"
}

// jwtScope is the request scope RequireJWT makes when nothing in front
// did, with the claims and the request it hands on: one allocation where
// a scope, a claims context and http.Request.WithContext would take
// three. The claims are in the context only once verified.
type jwtScope struct {
	scope
	claims   jwt.Claims
	verified bool
	req      http.Request
}

func (s *jwtScope) Value(key any) any {
	if key == any(claimsKey) && s.verified {
		return &s.claims
	}
	return s.scope.Value(key)
}

// String names the context without printing the claims.
func (s *jwtScope) String() string {
	if !s.verified {
		return s.scope.String()
	}
	return s.scope.String() + ".WithValue(secretmem/middleware jwt claims)"
}

// JWTClaims returns the claims of the token RequireJWT verified for this
// request.
func JWTClaims(ctx context.Context) (*jwt.Claims, bool) {
	c, ok := ctx.Value(claimsKey).(*jwt.Claims)
	return c, ok
}

// JWTError returns why RequireJWT refused the request, for a
// WithFailureHandler handler: one of package jwt's errors (for
// errors.Is), secret.ErrConsumed when something read the token before
// RequireJWT, or an error saying there was no bearer token. It never
// contains the token.
func JWTError(ctx context.Context) error {
	err, _ := ctx.Value(jwtErrorKey).(error)
	return err
}
