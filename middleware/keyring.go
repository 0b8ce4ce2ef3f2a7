package middleware

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/secretmem/secretmem/secret"
)

// maxReplaced bounds the replaced keys a live guard accepts at once,
// however fast its source rotates.
const maxReplaced = 8

// liveKeys is the keySet of RequireBearerFrom and RequireAPIKeyFrom: the
// keys a secret.Source holds now under some names, and the keys they
// replaced while their cells live. A request costs a Secret call per name
// and a comparison of Values; only a change takes the lock.
type liveKeys struct {
	src      secret.Source
	names    []string
	unusable *unusableKeys
	logger   *slog.Logger // nil: slog.Default()
	ring     atomic.Pointer[keyRing]
	mu       sync.Mutex // serializes updates
}

// keyRing is one view of the keys: never changed once stored.
type keyRing struct {
	seen     []secret.Value // per name, the Value the source gave last
	replaced []secret.Value // Values seen before, newest first
	accept   []secret.Value // seen, then replaced
}

func newLiveKeys(src secret.Source, names []string, unusable *unusableKeys, logger *slog.Logger) *liveKeys {
	l := &liveKeys{src: src, names: slices.Clone(names), unusable: unusable, logger: logger}
	if src == nil {
		// A guard without a source matches nothing, and says why.
		l.src = secret.SourceFunc(func(name string) secret.Value {
			return secret.Unavailable(errNoSource, secret.Label(name))
		})
	}
	l.ring.Store(&keyRing{seen: make([]secret.Value, len(l.names))})
	l.update(context.Background())
	return l
}

var errNoSource = errorString("middleware: the guard was given a nil secret.Source")

type errorString string

func (e errorString) Error() string { return string(e) }

// keys returns the keys accepted now, updating the ring when the source
// hands out a Value it did not before. Two unusable Values in a row (a
// missing key yields a new one at every call) are no change.
func (l *liveKeys) keys(ctx context.Context) []secret.Value {
	r := l.ring.Load()
	for i, name := range l.names {
		if v := l.src.Secret(name); v != r.seen[i] && (v.Alive() || r.seen[i].Alive()) {
			return l.update(ctx).accept
		}
	}
	return r.accept
}

// report reports the current keys that cannot be used, once each.
func (l *liveKeys) report(ctx context.Context) { l.unusable.check(ctx, l.ring.Load().seen) }

// update asks the source for every name again and stores the new ring:
// the keys it gives, then those they replaced that are still alive.
func (l *liveKeys) update(ctx context.Context) *keyRing {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.ring.Load()
	next := &keyRing{seen: make([]secret.Value, len(l.names))}
	var rotated []string
	for i, name := range l.names {
		v := l.src.Secret(name)
		was := old.seen[i]
		if v != was && !v.Alive() && !was.Alive() && was != (secret.Value{}) {
			v = was // still unusable: keep the Value already reported
		}
		next.seen[i] = v
		if v != was && was.Alive() {
			next.replaced = append(next.replaced, was)
			rotated = append(rotated, name)
		}
	}
	for _, v := range old.replaced {
		if len(next.replaced) < maxReplaced && v.Alive() && !slices.Contains(next.seen, v) {
			next.replaced = append(next.replaced, v)
		}
	}
	next.accept = append(slices.Clip(next.seen), next.replaced...)
	l.ring.Store(next)
	if len(rotated) > 0 {
		logger := l.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.InfoContext(ctx, "middleware: a guard follows a rotated key; the one it replaced is accepted while its cell lives",
			"guard", l.unusable.guard, "names", rotated)
	}
	l.unusable.check(ctx, next.seen)
	return next
}
