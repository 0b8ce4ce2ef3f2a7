package middleware

import (
	"net/http"
)

// Tokens takes credentials out of each request and into volatile pooled
// cells held in the request's context, and destroys every cell when the
// handler returns: normally, by panic (http.ErrAbortHandler included),
// after hijacking the connection, or after a streamed response. The cells
// make no system call; Tokens adds three allocations per request.
//
// By default it takes the bearer token from the Authorization header
// (scheme matched without regard to case; see WithScheme and
// WithoutBearer), Basic credentials from the same header, and the
// Proxy-Authorization header (Bearer or Basic). WithAPIKeys and
// WithCookies add named headers and cookies. Read them with Token,
// BasicAuth, ProxyToken, ProxyBasicAuth, APIKey and Cookie; each cell can
// be read once (Value.Equal and Value.EqualValue do not count).
//
// Tokens removes what it takes from r.Header, so no handler, logger or
// httputil.DumpRequest downstream sees it. It owns the Authorization and
// Proxy-Authorization headers: they are removed whatever their scheme,
// because a value that did not parse is still probably a credential.
// Other cookies stay in the Cookie header. Credentials that are empty,
// malformed (Basic credentials without the colon between user and
// password included), of another scheme, longer than MaxCredentialSize,
// not printable ASCII, or presented more than once are treated as absent
// (and still removed).
//
// Behind a Listener, the headers hold placeholders instead of the
// credentials, which never reached net/http; Tokens hands the request the
// cells they stand for.
//
// The header map is the request's own and is changed in place; requests
// that share it (shallow copies made with WithContext) see the change too,
// which is the point.
func Tokens(opts ...Option) func(http.Handler) http.Handler {
	e := newExtractor(collect(opts))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := e.begin(r)
			defer s.end()
			next.ServeHTTP(w, r.WithContext(s))
		})
	}
}

// MaxCredentialSize is the longest credential the middlewares accept
// (8 KiB); longer ones are treated as absent.
const MaxCredentialSize = 8 << 10
