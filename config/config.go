package config

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// Config is a loaded configuration: plain values as koanf holds them, and
// secrets in cells. It is safe for concurrent use; Watch and Reload swap
// in new values atomically, and Snapshot gives one generation of them.
//
// The secret.Values it hands out are the Config's own cells: do not
// Destroy them. They stay readable until Close, or, after a reload
// replaced them, until the grace period has passed.
type Config struct {
	owner
	stop      context.CancelFunc // stops Watch; guarded by mu
	watching  bool
	fn        func(error)   // Watch's; guarded by mu
	watchDone chan struct{} // closed when Watch's goroutine returns; guarded by mu
	tried     []stamp       // what the last failed reload found; guarded by mu
	callbacks chan struct{} // one token, held while a Watch callback runs
	quiet     atomic.Bool   // Close began: no callback starts
}

// Load reads every source in the order given and returns the merged
// configuration. It is all-or-nothing: on any error no cell survives and
// no environment variable is touched.
func Load(opts ...Option) (*Config, error) { return LoadContext(context.Background(), opts...) }

// LoadContext is Load, giving up when ctx is done: a source that waits
// (on a network, or a file system that hangs) is abandoned, and what it
// read is destroyed when its read returns.
func LoadContext(ctx context.Context, opts ...Option) (*Config, error) {
	c := &Config{callbacks: make(chan struct{}, 1)}
	if err := c.init(newSettings(opts)); err != nil {
		return nil, err
	}
	st, abandoned, err := c.loadFirst(ctx)
	if err != nil {
		if !abandoned { // else the load, when it returns, lets go
			c.stamps.destroy()
			_ = c.s.closeSources(context.Background())
		}
		return nil, err
	}
	c.first(st)
	return c, nil
}

// loadFirst runs the first load, on a goroutine of its own when ctx can
// end, so that Load can give up on a source that hangs (abandoned): that
// load, when it returns, destroys what it made, gives back what its
// sources took (a Vault lease) and closes them.
func (c *Config) loadFirst(ctx context.Context) (*state, bool, error) {
	if ctx.Done() == nil {
		st, err := c.s.load(ctx, nil, c.stamps)
		return st, false, err
	}
	type result struct {
		st  *state
		err error
	}
	ch := make(chan result, 1)
	var mu sync.Mutex
	abandoned := false
	t := c.s.newTxn(ctx, nil, c.stamps)
	go func() {
		st, err := t.load()
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if st != nil {
				destroyAll(st.fresh)
				giveBack(st.undo) // before the sources close
			}
			c.stamps.destroy()
			_ = c.s.closeSources(context.Background())
			return
		}
		ch <- result{st, err}
	}()
	select {
	case r := <-ch:
		return r.st, false, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-ch:
		return r.st, false, r.err
	default:
	}
	abandoned = true
	return nil, true, fmt.Errorf("config: load abandoned while reading %s: %w", t.what(), ctx.Err())
}

// View returns the current generation as a secret.Source (a Snapshot):
// it makes the Config a secret.Versioned, so that code reading two keys
// that belong together (a database user and its password) reads both
// from one generation.
func (c *Config) View() secret.Source { return c.Snapshot() }

// Secret returns the cell of a secret key in the current generation (see
// Snapshot.Secret): a missing or plain key gives a Value whose reads fail
// with ErrMissing naming the key. Two calls may straddle a reload; take a
// Snapshot for secrets that belong together.
func (c *Config) Secret(key string) secret.Value { return c.Snapshot().Secret(key) }

// LookupSecret returns the cell of a secret key and whether there is one.
func (c *Config) LookupSecret(key string) (secret.Value, bool) { return c.Snapshot().LookupSecret(key) }

// IsSecret reports whether key holds a secret.
func (c *Config) IsSecret(key string) bool { return c.Snapshot().IsSecret(key) }

// Exists reports whether key, or a key below it, is set.
func (c *Config) Exists(key string) bool { return c.Snapshot().Exists(key) }

// Keys returns every flat key, sorted, secret ones included.
func (c *Config) Keys() []string { return c.Snapshot().Keys() }

// String returns a plain value as a string, or "" when key is missing or
// secret (use Secret).
func (c *Config) String(key string) string { return c.Snapshot().String(key) }

// Strings returns a plain list of strings, or nil when key is missing,
// secret, or not a non-empty list.
func (c *Config) Strings(key string) []string { return c.Snapshot().Strings(key) }

// Int returns a plain value as an int, or 0.
func (c *Config) Int(key string) int { return c.Snapshot().Int(key) }

// Int64 returns a plain value as an int64, or 0.
func (c *Config) Int64(key string) int64 { return c.Snapshot().Int64(key) }

// Float64 returns a plain value as a float64, or 0.
func (c *Config) Float64(key string) float64 { return c.Snapshot().Float64(key) }

// Bool returns a plain value as a bool, or false.
func (c *Config) Bool(key string) bool { return c.Snapshot().Bool(key) }

// Duration returns a plain value as a time.Duration ("1m30s" or a number
// of nanoseconds), or 0.
func (c *Config) Duration(key string) time.Duration { return c.Snapshot().Duration(key) }

// Koanf returns a copy of the underlying koanf instance, for everything
// this type does not wrap. Secret keys hold stand-ins there that print as
// [REDACTED] through Get, Print, Sprint, fmt and JSON, and hold nothing
// that could be read as the secret.
func (c *Config) Koanf() *koanf.Koanf { return c.Snapshot().Koanf() }

// Redacted returns the whole configuration as nested maps, with every
// secret replaced by secret.Redacted: what a /config endpoint may show.
func (c *Config) Redacted() map[string]any { return c.Snapshot().Redacted() }

// LogValue makes slog print every key, each secret as [REDACTED]. The
// keys are flat ("db.password") and sorted.
func (c *Config) LogValue() slog.Value { return c.Snapshot().LogValue() }

// DefaultCloseWait is how long Close waits for a reload in flight (and a
// Watch callback) to end; CloseContext takes a context instead.
const DefaultCloseWait = 5 * time.Second

// Close is CloseContext with DefaultCloseWait.
func (c *Config) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseWait)
	defer cancel()
	return c.CloseContext(ctx)
}

// CloseContext stops Watch, cancels a reload in flight and destroys every
// cell the Config holds, including cells still in their grace period and
// the cells of environment variables it consumed. Values handed out
// before report ErrDestroyed (a Snapshot's, ErrClosed).
//
// It waits, until ctx is done, for a Watch callback that is running to
// return (so a callback never starts or runs after CloseContext returned
// nil; fn must therefore not call Close itself), for the reload in
// flight to stop, and for the watcher to let go of its files. A reload stuck in a read the system does not interrupt
// (a hung NFS or FUSE mount, a koanf provider that blocks) is abandoned:
// CloseContext returns an error wrapping ErrReloadTimeout, the Config is
// closed all the same, and what that reload read is destroyed when its
// read returns. It is idempotent.
func (c *Config) CloseContext(ctx context.Context) error {
	c.quiet.Store(true)
	var cbErr error
	select {
	case c.callbacks <- struct{}{}:
		<-c.callbacks
	case <-ctx.Done():
		cbErr = fmt.Errorf("config: closed while a Watch callback was still running: %w", ctx.Err())
	}
	err := c.close(ctx, func() {
		if c.stop != nil {
			c.stop()
		}
	})
	// The watcher may be reading a file for a probe: wait for it, so that
	// nothing of the Config has a file open once Close returned (Windows
	// refuses to delete or replace an open file).
	c.mu.Lock()
	done := c.watchDone
	c.mu.Unlock()
	if done != nil && err == nil {
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("config: closed while the watcher was still reading its sources: %w", ctx.Err())
		}
	}
	if err == nil {
		err = cbErr
	}
	// Sources that hold a connection (Vault: its token, renewed in the
	// background, and leases to revoke) let go last: nothing reads them
	// any more.
	if serr := c.s.closeSources(ctx); err == nil {
		err = serr
	}
	return err
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
