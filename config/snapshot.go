package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// A Snapshot is one generation of a Config: every value it returns, plain
// or secret, comes from the same load, however often Watch reloads
// meanwhile. Take one per unit of work (a request, a connection) that
// needs several values that belong together, a user and a password, a
// certificate and its key:
//
//	snap := cfg.Snapshot()
//	user, pw := snap.String("db.user"), snap.Secret("db.password")
//
// Taking a Snapshot is one atomic load and allocates nothing; its getters
// cost what the Config's do (the Config's own getters each read the
// current generation, so two calls may straddle a reload).
//
// A Snapshot does not keep its generation alive. The cells of a key that
// a later reload changed stay readable for GracePeriod after that reload,
// then are destroyed; the cells of keys it did not change live on in the
// new generation. So a Snapshot held longer than the grace period may
// find a secret gone: Secret then returns a Value whose reads fail with
// ErrRetired naming the key (ErrClosed after Close). It never returns a
// secret of another generation. Plain values stay readable for as long
// as the Snapshot is kept.
//
// A Snapshot is a secret.Source. Its zero value is empty.
type Snapshot struct {
	st *state
	o  *owner
}

// Snapshot returns the current generation.
func (c *Config) Snapshot() Snapshot { return Snapshot{st: c.state(), o: &c.owner} }

// emptyState is the zero Snapshot's.
var emptyState = &state{k: koanf.New(".")}

func (sn Snapshot) state() *state {
	if sn.st == nil {
		return emptyState
	}
	return sn.st
}

// Generation returns the snapshot's generation (see ReloadStatus), 0 for
// the zero Snapshot.
func (sn Snapshot) Generation() uint64 { return sn.state().gen }

// Secret returns the cell of a secret key. When key is missing or plain,
// it returns a Value that holds nothing and whose every read fails with an
// error that wraps ErrMissing and names the key (secret.Unavailable), so
// a typo surfaces where the secret is used, and a guard that gets such a
// Value can say which key it lacks. When the cell is gone (see Snapshot)
// the error wraps ErrRetired or ErrClosed.
func (sn Snapshot) Secret(key string) secret.Value {
	v, ok := sn.state().secrets[key]
	switch {
	case ok && v.Alive():
		return v
	case ok:
		return secret.Unavailable(sn.gone(key), secret.Label(key))
	}
	return secret.Unavailable(sn.missing(key), secret.Label(key))
}

// gone says why the cell of key in this generation is no longer readable.
func (sn Snapshot) gone(key string) error {
	if sn.o != nil && sn.o.shut.Load() {
		return fmt.Errorf("%w: %s cannot be read any more", ErrClosed, key)
	}
	return fmt.Errorf("%w: %s of generation %d was replaced more than the grace period (%s) ago; take a Snapshot for each unit of work",
		ErrRetired, key, sn.state().gen, sn.o.s.grace)
}

// missing says why key has no secret.
func (sn Snapshot) missing(key string) error {
	st := sn.state()
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
func (sn Snapshot) LookupSecret(key string) (secret.Value, bool) {
	v, ok := sn.state().secrets[key]
	return v, ok
}

// IsSecret reports whether key holds a secret.
func (sn Snapshot) IsSecret(key string) bool {
	_, ok := sn.state().secrets[key]
	return ok
}

// Exists reports whether key, or a key below it, is set.
func (sn Snapshot) Exists(key string) bool { return sn.state().k.Exists(key) }

// Keys returns every flat key, sorted, secret ones included.
func (sn Snapshot) Keys() []string { return sn.state().k.Keys() }

// plain returns the koanf instance for a plain key, or nil for a secret
// one: typed getters never see secrets.
func (sn Snapshot) plain(key string) *koanf.Koanf {
	st := sn.state()
	if _, ok := st.secrets[key]; ok {
		return nil
	}
	return st.k
}

// String returns a plain value as a string, or "" when key is missing or
// secret (use Secret).
func (sn Snapshot) String(key string) string {
	if k := sn.plain(key); k != nil {
		return k.String(key)
	}
	return ""
}

// Strings returns a plain list of strings, or nil when key is missing,
// secret, or not a non-empty list.
func (sn Snapshot) Strings(key string) []string {
	if k := sn.plain(key); k != nil {
		// koanf answers an empty, non-nil slice for a missing key.
		if s := k.Strings(key); len(s) > 0 {
			return s
		}
	}
	return nil
}

// Int returns a plain value as an int, or 0.
func (sn Snapshot) Int(key string) int {
	if k := sn.plain(key); k != nil {
		return k.Int(key)
	}
	return 0
}

// Int64 returns a plain value as an int64, or 0.
func (sn Snapshot) Int64(key string) int64 {
	if k := sn.plain(key); k != nil {
		return k.Int64(key)
	}
	return 0
}

// Float64 returns a plain value as a float64, or 0.
func (sn Snapshot) Float64(key string) float64 {
	if k := sn.plain(key); k != nil {
		return k.Float64(key)
	}
	return 0
}

// Bool returns a plain value as a bool, or false.
func (sn Snapshot) Bool(key string) bool {
	if k := sn.plain(key); k != nil {
		return k.Bool(key)
	}
	return false
}

// Duration returns a plain value as a time.Duration ("1m30s" or a number
// of nanoseconds), or 0.
func (sn Snapshot) Duration(key string) time.Duration {
	if k := sn.plain(key); k != nil {
		return k.Duration(key)
	}
	return 0
}

// Koanf returns a copy of the underlying koanf instance, for everything
// this type does not wrap. Secret keys hold stand-ins there that print as
// [REDACTED] through Get, Print, Sprint, fmt and JSON, and hold nothing
// that could be read as the secret.
func (sn Snapshot) Koanf() *koanf.Koanf { return sn.state().k.Copy() }

// Redacted returns the whole configuration as nested maps, with every
// secret replaced by secret.Redacted: what a /config endpoint may show.
func (sn Snapshot) Redacted() map[string]any {
	st := sn.state()
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
func (sn Snapshot) LogValue() slog.Value {
	st := sn.state()
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
