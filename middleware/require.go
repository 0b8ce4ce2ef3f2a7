package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/secretmem/secretmem/secret"
)

// Guard builds middlewares that refuse requests without an accepted
// credential. Its zero value is ready to use and is what RequireBearer and
// RequireAPIKey use; NewGuard sets options (WithScheme, WithScrub,
// WithFailureHandler, WithLogger), which cannot share a variadic list
// with the keys.
type Guard struct{ cfg config }

// WithLogger sets where a guard reports a key it cannot use; the default
// is slog.Default(). Affects NewGuard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.guardLogger = l }
}

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
//
// A key that cannot be used (the Value of a configuration key that does
// not exist, a key destroyed or expired) matches nothing; the guard
// reports each such key once, at error level, through its logger
// (WithLogger), naming the key and why: when it is built, and when it
// refuses a request. Without that, a guard whose keys are all unusable
// refuses everyone and nobody learns why.
func (g Guard) RequireBearer(keys ...secret.Value) func(http.Handler) http.Handler {
	c := g.cfg
	c.noBearer, c.apiKeys, c.cookies = false, nil, nil
	e := newExtractor(c)
	return g.require(e, kindBearer, "", keys, e.scheme, e.scheme+` error="invalid_token"`, "RequireBearer")
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
	return g.require(e, kindAPIKey, name, keys, challenge, challenge+`, error="invalid_key"`, "RequireAPIKey")
}

func (g Guard) require(e *extractor, k kind, name string, keys []secret.Value, absent, invalid, guard string) func(http.Handler) http.Handler {
	keys = slices.Clone(keys)
	fail := g.cfg.onFailure
	unusable := &unusableKeys{logger: g.cfg.guardLogger, guard: guard}
	unusable.check(context.Background(), keys)
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
			unusable.check(r.Context(), keys)
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

// unusableKeys reports each key a guard cannot use, once, through the
// guard's logger. Reports are told apart by what they say (the key's
// label and why it cannot be read), so a key a live configuration hands
// out anew for every request is still reported once; the Values already
// reported are remembered too, so that checking a refused request against
// a dead key it already reported takes no lock and no allocation.
type unusableKeys struct {
	logger *slog.Logger // nil: slog.Default()
	guard  string
	known  atomic.Pointer[[]secret.Value] // reported Values, copied on write

	mu   sync.Mutex
	said map[string]bool
}

// maxKeyReports bounds what unusableKeys remembers, however many distinct
// keys a live configuration hands it.
const maxKeyReports = 64

// check reports the keys that cannot be used and were not reported yet.
func (u *unusableKeys) check(ctx context.Context, keys []secret.Value) {
	for _, k := range keys {
		if !k.Alive() && !u.knows(k) {
			u.report(ctx, k)
		}
	}
}

func (u *unusableKeys) knows(k secret.Value) bool {
	if known := u.known.Load(); known != nil {
		return slices.Contains(*known, k)
	}
	return false
}

func (u *unusableKeys) report(ctx context.Context, k secret.Value) {
	err := k.Err()
	if err == nil {
		return // it became usable, or never was unusable
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.said == nil {
		u.said = make(map[string]bool)
	}
	what := k.String() + ": " + err.Error()
	first := !u.said[what]
	if first && len(u.said) < maxKeyReports {
		u.said[what] = true
		logger := u.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(ctx, "middleware: a key this guard accepts cannot be used; requests that carry it are refused",
			"guard", u.guard, "key", k, "error", err.Error())
	}
	if old := u.known.Load(); old == nil || len(*old) < maxKeyReports {
		var next []secret.Value
		if old != nil {
			next = slices.Clone(*old)
		}
		next = append(next, k)
		u.known.Store(&next)
	}
}
