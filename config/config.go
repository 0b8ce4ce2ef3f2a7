package config

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// Config is a loaded configuration: plain values as koanf holds them, and
// secrets in cells. It is safe for concurrent use; Watch swaps in new
// values atomically.
//
// The secret.Values it hands out are the Config's own cells: do not
// Destroy them. They stay readable until Close, or, after a reload
// replaced them, until the grace period has passed.
type Config struct {
	owner
	stop     context.CancelFunc // stops Watch; guarded by mu
	watching bool
}

// Load reads every source in the order given and returns the merged
// configuration. It is all-or-nothing: on any error no cell survives and
// no environment variable is touched.
func Load(opts ...Option) (*Config, error) {
	s := newSettings(opts)
	st, err := s.load(nil)
	if err != nil {
		return nil, err
	}
	c := &Config{owner: owner{s: s}}
	c.cur.Store(st)
	return c, nil
}

// Secret returns the cell of a secret key. When key is missing or plain,
// it returns a Value that holds nothing and whose every read fails with an
// error that wraps ErrMissing and names the key (secret.Unavailable), so
// a typo surfaces where the secret is used, and a guard that gets such a
// Value can say which key it lacks.
func (c *Config) Secret(key string) secret.Value {
	if v, ok := c.LookupSecret(key); ok {
		return v
	}
	return secret.Unavailable(c.missing(key), secret.Label(key))
}

// missing says why key has no secret.
func (c *Config) missing(key string) error {
	st := c.state()
	if st.k.Exists(key) {
		return fmt.Errorf("%w: %s holds a plain value, not a secret (read it with String, or make it secret with SecretKeys(%q))",
			ErrMissing, key, key)
	}
	if near := nearestKey(key, st.secrets); near != "" {
		return fmt.Errorf("%w: %s is not set (did you mean %s?)", ErrMissing, key, near)
	}
	return fmt.Errorf("%w: %s is not set", ErrMissing, key)
}

// LookupSecret returns the cell of a secret key and whether there is one.
func (c *Config) LookupSecret(key string) (secret.Value, bool) {
	v, ok := c.state().secrets[key]
	return v, ok
}

// IsSecret reports whether key holds a secret.
func (c *Config) IsSecret(key string) bool {
	_, ok := c.state().secrets[key]
	return ok
}

// Exists reports whether key, or a key below it, is set.
func (c *Config) Exists(key string) bool { return c.state().k.Exists(key) }

// Keys returns every flat key, sorted, secret ones included.
func (c *Config) Keys() []string { return c.state().k.Keys() }

// plain returns the koanf instance for a plain key, or nil for a secret
// one: typed getters never see secrets.
func (c *Config) plain(key string) *koanf.Koanf {
	st := c.state()
	if _, ok := st.secrets[key]; ok {
		return nil
	}
	return st.k
}

// String returns a plain value as a string, or "" when key is missing or
// secret (use Secret).
func (c *Config) String(key string) string {
	if k := c.plain(key); k != nil {
		return k.String(key)
	}
	return ""
}

// Strings returns a plain list of strings, or nil when key is missing,
// secret, or not a non-empty list.
func (c *Config) Strings(key string) []string {
	if k := c.plain(key); k != nil {
		// koanf answers an empty, non-nil slice for a missing key.
		if s := k.Strings(key); len(s) > 0 {
			return s
		}
	}
	return nil
}

// Int returns a plain value as an int, or 0.
func (c *Config) Int(key string) int {
	if k := c.plain(key); k != nil {
		return k.Int(key)
	}
	return 0
}

// Int64 returns a plain value as an int64, or 0.
func (c *Config) Int64(key string) int64 {
	if k := c.plain(key); k != nil {
		return k.Int64(key)
	}
	return 0
}

// Float64 returns a plain value as a float64, or 0.
func (c *Config) Float64(key string) float64 {
	if k := c.plain(key); k != nil {
		return k.Float64(key)
	}
	return 0
}

// Bool returns a plain value as a bool, or false.
func (c *Config) Bool(key string) bool {
	if k := c.plain(key); k != nil {
		return k.Bool(key)
	}
	return false
}

// Duration returns a plain value as a time.Duration ("1m30s" or a number
// of nanoseconds), or 0.
func (c *Config) Duration(key string) time.Duration {
	if k := c.plain(key); k != nil {
		return k.Duration(key)
	}
	return 0
}

// Koanf returns a copy of the underlying koanf instance, for everything
// this type does not wrap. Secret keys hold stand-ins there that print as
// [REDACTED] through Get, Print, Sprint, fmt and JSON, and hold nothing
// that could be read as the secret.
func (c *Config) Koanf() *koanf.Koanf { return c.state().k.Copy() }

// Redacted returns the whole configuration as nested maps, with every
// secret replaced by secret.Redacted: what a /config endpoint may show.
func (c *Config) Redacted() map[string]any {
	st := c.state()
	flat := st.k.All()
	for key := range st.secrets {
		if _, ok := flat[key]; ok {
			flat[key] = secret.Redacted
		}
	}
	return maps.Unflatten(flat, ".")
}

// LogValue makes slog print every key, each secret as [REDACTED]. The
// keys are flat ("db.password") and sorted.
func (c *Config) LogValue() slog.Value {
	st := c.state()
	keys := st.k.Keys()
	flat := st.k.All()
	attrs := make([]slog.Attr, 0, len(keys))
	for _, key := range keys {
		if _, ok := st.secrets[key]; ok {
			attrs = append(attrs, slog.String(key, secret.Redacted))
			continue
		}
		attrs = append(attrs, slog.Any(key, flat[key]))
	}
	return slog.GroupValue(attrs...)
}

// Close stops Watch and destroys every cell the Config holds, including
// cells still in their grace period and the cells of environment
// variables it consumed. Values handed out before report ErrDestroyed.
// Close is idempotent.
func (c *Config) Close() error {
	c.close(func() {
		if c.stop != nil {
			c.stop()
		}
	})
	return nil
}

// nearestKey returns the secret key closest to key when it is at most two
// edits away, as a typo would be, or "".
func nearestKey(key string, secrets map[string]secret.Value) string {
	best, bestDist := "", 3
	for k := range secrets {
		if d := editDistance(key, k, bestDist); d < bestDist || d == bestDist && best != "" && k < best {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
