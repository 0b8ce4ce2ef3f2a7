package middleware

import (
	"log/slog"
	"net/http"
	"strings"
)

// Option configures Tokens, NewGuard and Logger. Each option's doc says
// which of them it affects; the others ignore it.
type Option func(*config)

// config is the union of every middleware's settings. Its zero value is
// the default: take the bearer token, nothing else, no scrubbing.
type config struct {
	scheme        string   // bearer scheme, "Bearer" when empty
	noBearer      bool     // Tokens leaves Authorization alone
	apiKeys       []string // canonical header names
	cookies       []string // cookie names, case-sensitive
	scrub         bool
	onFailure     http.Handler
	logHeaders    []string // canonical header names Logger may print
	secretParams  []string // lower-case query parameter names to redact
	logLevel      slog.Level
	logLevelIsSet bool
	guardLogger   *slog.Logger // where a guard reports keys it cannot use
}

func collect(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.scheme == "" {
		c.scheme = "Bearer"
	}
	return c
}

// WithScheme sets the authorization scheme of the bearer token, matched
// without regard to case; the default is "Bearer". A scheme that is not an
// HTTP token (empty, or containing spaces or separators) matches nothing,
// so a guard configured with one refuses every request.
// Affects Tokens and NewGuard.
func WithScheme(scheme string) Option {
	return func(c *config) {
		if !isToken(scheme) {
			// Fail closed: no Authorization value can match this.
			scheme = " invalid"
		}
		c.scheme = scheme
	}
}

// WithoutBearer makes Tokens leave the Authorization header alone, for
// services that only take API keys or cookies. Affects Tokens.
func WithoutBearer() Option {
	return func(c *config) { c.noBearer = true }
}

// WithAPIKeys names request headers that carry API keys ("X-Api-Key").
// Tokens moves them into cells (read them with APIKey); Logger never
// prints them. Affects Tokens and Logger.
func WithAPIKeys(headers ...string) Option {
	return func(c *config) {
		for _, h := range headers {
			if isToken(h) {
				c.apiKeys = appendUnique(c.apiKeys, http.CanonicalHeaderKey(h))
			}
		}
	}
}

// WithCookies names cookies that carry credentials ("session"). Tokens
// moves them into cells (read them with Cookie) and removes them from the
// Cookie header, keeping the other cookies. Names are case-sensitive, as
// cookie names are. Affects Tokens.
func WithCookies(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if isToken(n) {
				c.cookies = appendUnique(c.cookies, n)
			}
		}
	}
}

// WithScrub makes Tokens overwrite, with zeros, the bytes of the original
// header strings it took credentials from, so the request's plaintext does
// not wait in the heap for the garbage collector. It is off by default
// because Go strings are meant to be immutable:
//
//   - It only touches HTTP/1.x requests parsed by net/http's server, whose
//     header strings are fresh heap copies owned by that request. HTTP/2
//     header strings are shared with the connection's HPACK table, and
//     requests built in code may hold strings the program still uses.
//   - It never writes into the executable's own image (string literals),
//     and it writes with debug.SetPanicOnFault, recovering if the memory
//     turns out to be read-only, in which case it leaves the bytes as they
//     were.
//   - It is a no-op on systems other than Linux, where it cannot tell the
//     executable's image apart.
//
// It does not reach the connection's read buffer, which net/http owns.
// Affects Tokens.
func WithScrub() Option {
	return func(c *config) { c.scrub = true }
}

// WithFailureHandler replaces the default 401 response of a guard. The
// handler sees the request with the credential already removed; it must
// not try to recover it. Affects NewGuard.
func WithFailureHandler(h http.Handler) Option {
	return func(c *config) { c.onFailure = h }
}

// WithHeaders lists request headers whose values Logger prints. Headers
// that carry credentials (Authorization, Proxy-Authorization, Cookie,
// Set-Cookie, the API-key headers, and any name that mentions auth, token,
// key, secret, password, session or signature) are never printed, whatever
// this list says. Affects Logger.
func WithHeaders(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if isToken(n) {
				c.logHeaders = appendUnique(c.logHeaders, http.CanonicalHeaderKey(n))
			}
		}
	}
}

// WithSecretParams names query parameters whose values Logger redacts, in
// addition to those whose names look secret (token, key, secret,
// password, auth, session, signature, code and the like). Matching ignores
// case. Affects Logger.
func WithSecretParams(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if n != "" {
				c.secretParams = appendUnique(c.secretParams, strings.ToLower(n))
			}
		}
	}
}

// WithLevel sets the level of Logger's records; the default is
// slog.LevelInfo, and slog.LevelError for 5xx responses and panics.
// Affects Logger.
func WithLevel(level slog.Level) Option {
	return func(c *config) { c.logLevel, c.logLevelIsSet = level, true }
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// isToken reports whether s is an RFC 9110 token: the syntax of header
// names, cookie names and authentication schemes.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
