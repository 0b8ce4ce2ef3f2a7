package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/secretmem/secretmem/secret"
)

// Guard builds middlewares that refuse requests without an accepted
// credential. Its zero value is ready to use and is what RequireBearer and
// RequireAPIKey use; NewGuard sets options (WithScheme,
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

// RequireBearerFrom is NewGuard().RequireBearerFrom(src, names...).
func RequireBearerFrom(src secret.Source, names ...string) func(http.Handler) http.Handler {
	return Guard{}.RequireBearerFrom(src, names...)
}

// RequireAPIKeyFrom is NewGuard().RequireAPIKeyFrom(header, src, names...).
func RequireAPIKeyFrom(header string, src secret.Source, names ...string) func(http.Handler) http.Handler {
	return Guard{}.RequireAPIKeyFrom(header, src, names...)
}

// RequireBearer passes a request on only if its bearer token equals one of
// keys; list several to rotate keys by hand, and Destroy a key to retire
// it (a destroyed key matches nothing, and so does an empty list).
//
// The guard keeps the cells it is given: it suits keys the program owns.
// A key from a configuration that rotates (a *config.Config watched by
// Watch) must go through RequireBearerFrom instead: a cell taken once
// from the Config at start-up is the old key after the first rotation,
// so the new key is refused, and once the grace period destroyed the old
// cell every request is.
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
	e, absent, invalid := g.bearer()
	unusable := g.unusable("RequireBearer")
	return g.require(e, kindBearer, "", fixedKeys(slices.Clone(keys), unusable), absent, invalid)
}

// RequireAPIKey passes a request on only if the named header holds one of
// keys; otherwise it behaves as RequireBearer. After Tokens configured
// with WithAPIKeys(header) it checks the key Tokens took; without it, it
// takes the header itself.
func (g Guard) RequireAPIKey(header string, keys ...secret.Value) func(http.Handler) http.Handler {
	e, name, absent, invalid := g.apiKey(header)
	unusable := g.unusable("RequireAPIKey")
	return g.require(e, kindAPIKey, name, fixedKeys(slices.Clone(keys), unusable), absent, invalid)
}

// RequireBearerFrom passes a request on only if its bearer token equals
// the current key under one of names in src, such as a *config.Config
// (RequireBearerFrom(cfg, "api.key")): it follows rotations. It asks src
// at every request, which for a Config costs a map lookup, and when a
// name's cell changes it accepts the new key at once and the one it
// replaced for as long as that cell lives: a Config destroys it after its
// GracePeriod, so clients have that long to switch. (A key is seen when a
// request comes; one that came and went between two requests was never
// accepted.) A name whose key cannot be used (a missing key, a typo) is
// reported once through the guard's logger, naming it, as for
// RequireBearer, and every rotation it follows is logged at info level.
// Otherwise it behaves as RequireBearer.
func (g Guard) RequireBearerFrom(src secret.Source, names ...string) func(http.Handler) http.Handler {
	e, absent, invalid := g.bearer()
	unusable := g.unusable("RequireBearerFrom")
	return g.require(e, kindBearer, "", newLiveKeys(src, names, unusable, g.cfg.guardLogger), absent, invalid)
}

// RequireAPIKeyFrom is RequireAPIKey with the keys of RequireBearerFrom:
// the current keys under names in src, and those they replaced while
// their cells live.
func (g Guard) RequireAPIKeyFrom(header string, src secret.Source, names ...string) func(http.Handler) http.Handler {
	e, name, absent, invalid := g.apiKey(header)
	unusable := g.unusable("RequireAPIKeyFrom")
	return g.require(e, kindAPIKey, name, newLiveKeys(src, names, unusable, g.cfg.guardLogger), absent, invalid)
}

// bearer is the extractor and challenges of a bearer guard.
func (g Guard) bearer() (e *extractor, absent, invalid string) {
	c := g.cfg
	c.noBearer, c.apiKeys, c.cookies = false, nil, nil
	e = newExtractor(c)
	return e, e.scheme, e.scheme + ` error="invalid_token"`
}

// apiKey is the extractor, header and challenges of an API-key guard.
func (g Guard) apiKey(header string) (e *extractor, name, absent, invalid string) {
	c := g.cfg
	name = canonicalHeader(header)
	c.noBearer, c.apiKeys, c.cookies = true, nil, nil
	if isToken(name) {
		c.apiKeys = []string{name}
	}
	challenge := `APIKey header=` + strconv.Quote(name)
	return newExtractor(c), name, challenge, challenge + `, error="invalid_key"`
}

func (g Guard) unusable(guard string) *unusableKeys {
	return &unusableKeys{logger: g.cfg.guardLogger, guard: guard}
}

// keySet is what a guard compares credentials with: keys returns the keys
// accepted now, and report, after a refusal, says which cannot be used.
type keySet interface {
	keys(ctx context.Context) []secret.Value
	report(ctx context.Context)
}

// fixed is the keys a guard was given as cells.
type fixed struct {
	list     []secret.Value
	unusable *unusableKeys
}

func fixedKeys(list []secret.Value, unusable *unusableKeys) fixed {
	f := fixed{list, unusable}
	f.report(context.Background())
	return f
}

func (f fixed) keys(context.Context) []secret.Value { return f.list }
func (f fixed) report(ctx context.Context)          { f.unusable.check(ctx, f.list) }

func (g Guard) require(e *extractor, k kind, name string, keys keySet, absent, invalid string) func(http.Handler) http.Handler {
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
			if sl.ok && matchAny(sl.v, keys.keys(r.Context())) {
				next.ServeHTTP(w, r)
				return
			}
			keys.report(r.Context())
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
		args := []any{"guard", u.guard, "key", k, "error", err.Error()}
		if errors.Is(err, secret.ErrDestroyed) && !strings.HasSuffix(u.guard, "From") {
			// The README's old pattern, RequireBearer(cfg.Secret(...)),
			// ends here once a rotation's grace period is over.
			args = append(args, "hint", "a cell taken from a configuration that rotates dies after the grace period; build the guard with "+u.guard+"From(cfg, key)")
		}
		logger.ErrorContext(ctx, "middleware: a key this guard accepts cannot be used; requests that carry it are refused", args...)
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
