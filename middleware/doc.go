// Package middleware keeps per-request credentials out of reach in
// net/http and chi services.
//
// Tokens takes the bearer token, API-key headers and cookies out of each
// request and into volatile cells of protected memory (see package
// secret), removes them from the request's headers so that nothing
// downstream (handlers, loggers, httputil.DumpRequest) can see them, and
// destroys the cells when the handler returns, whether it returns,
// panics, hijacks the connection or streams its response:
//
//	r := chi.NewRouter()
//	r.Use(middleware.Logger(slog.Default()))
//	r.Use(middleware.Tokens(middleware.WithAPIKeys("X-Api-Key")))
//	r.Use(middleware.RequireBearerFrom(cfg, "api.key"))
//	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
//		tok, _ := middleware.Token(r.Context())
//		err := tok.Use(func(b []byte) error { ... })
//		...
//	})
//
// Token, BasicAuth, ProxyToken, ProxyBasicAuth, APIKey and Cookie read
// the cells; each is volatile, so it can be read once (Value.Equal does not count), and a copy kept past the
// response reports secret.ErrDestroyed rather than faulting. Ephemeral
// adds cells of the handler's own that die with the response.
//
// RequireBearer and RequireAPIKey (and NewGuard, for options) answer 401
// unless the credential equals one of the accepted keys, compared in
// constant time inside protected memory. They read what Tokens took, or
// take the credential themselves when Tokens is not in front of them.
// RequireBearerFrom and RequireAPIKeyFrom take the keys from a
// secret.Source such as a *config.Config at every request, so a guard
// follows rotations: RequireBearerFrom(cfg, "api.key") accepts the new
// key at once and the old one until the Config's grace period ends.
//
// RequireJWT checks a bearer JSON Web Token with a sign/jwt Verifier,
// inside the token's volatile cell, and hands the handler its claims
// (JWTClaims).
//
// Logger writes one slog record per request and never writes credential
// headers or secret-looking query parameters.
//
// Every middleware is a plain func(http.Handler) http.Handler, so it works
// with chi, http.ServeMux and anything else. Malformed, oversized
// (MaxCredentialSize), non-ASCII, wrong-scheme and repeated credentials
// are treated as absent, never echoed, and never cause a panic.
//
// Middleware runs after net/http has read the request: the credential
// has passed through net/http's connection read buffer, where the last
// request's bytes stay until the next request overwrites them, and its
// header strings, which linger until the garbage collector reuses them.
// Listener closes that gap for HTTP/1.x: it wraps the net.Listener and
// takes the credentials out of the byte stream into cells before net/http
// reads it, leaving placeholders that Tokens resolves.
//
// What this cannot protect: HTTP/2 requests (net/http parses them; see
// Listener), bytes a TLS layer decrypted, credentials in the URL or the
// body, and copies a handler makes.
package middleware
