package config

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Watch reloads the configuration whenever something it came from
// changes: configuration files, secret directories (including a
// Kubernetes ..data swap), _FILE targets and file: references. It polls
// every PollInterval (default 10 s) rather than using inotify, which
// misses Kubernetes' symlink swaps and does not work on every file system,
// and it compares content, not only sizes and times: each file is read
// into protected memory and hashed under a key of the Config's own, so a
// file replaced with its modification time kept (cp -p, rsync -t) is seen.
//
// A reload reads every source again with the same options, then waits
// SettleTime and checks that every file it read still holds what it
// read: a file still being written (truncated and written in pieces,
// overwritten in place) is not installed, and the reload starts again. A
// Kubernetes volume is read through the one generation its ..data link
// named when the reload began, and needs no wait: the kubelet never
// writes into a generation it has published. So a reload installs one
// complete generation or nothing. It replaces the old values atomically (see Snapshot) and
// calls fn(nil); keys whose values did not change keep their cells. The
// keys that changed are in Status().Changed. Cells that a reload replaced
// stay readable for GracePeriod (default one minute), so work in flight
// can finish, and are then destroyed. Environment variables are read
// once: a reload reuses the cells of the secrets it took from them.
//
// A failed reload keeps the old values, calls fn with the error, and is
// tried again with backoff (RetryBackoff) until it succeeds, even when
// nothing changes meanwhile (a refused memory lock, a server that was
// down); a change to the sources is tried at once. A reload that does not
// finish within ReloadTimeout is abandoned and reported (ErrReloadTimeout).
// Status, Health and HealthHandler report all of it.
//
// On Windows a poll holds each file open while it reads it, and a tool
// that replaces a file with a plain rename (MoveFileEx, os.Rename) fails
// with "Access is denied" in that moment, as it does against a virus
// scanner or an indexer: such a tool must retry. Deleting the file, or
// renaming it away, works even then.
//
// Watch returns at once. Watching stops when ctx is done or at Close.
// fn may be nil; it runs on the watching goroutine (or on Reload's
// caller), one call at a time, and never after Close returned. It must
// not call Close, which waits for it to return.
func (c *Config) Watch(ctx context.Context, fn func(error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.watching {
		return errors.New("config: Watch was already called")
	}
	ctx, cancel := context.WithCancel(ctx)
	c.stop, c.watching, c.fn = cancel, true, fn
	c.watchDone = make(chan struct{})
	c.status.Watching = true
	c.status.Checked = time.Now()
	go c.watch(ctx, fn, c.watchDone)
	return nil
}

// Reload reloads the configuration now, as Watch does when a source
// changes, whether or not anything changed, and returns the result; it
// also goes to Watch's fn. A service can call it on SIGHUP. It waits for
// a reload in flight to end first, and gives up when ctx is done.
func (c *Config) Reload(ctx context.Context) error {
	c.mu.Lock()
	fn := c.fn
	c.mu.Unlock()
	_, err := c.reload(ctx, nil, nil)
	if errors.Is(err, ErrClosed) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	c.notify(fn, err)
	return err
}

// notify calls fn with a reload's result, unless Close began.
func (c *Config) notify(fn func(error), err error) {
	if fn == nil {
		return
	}
	c.callbacks <- struct{}{}
	defer func() { <-c.callbacks }()
	if !c.quiet.Load() {
		fn(err)
	}
}

func (c *Config) watch(ctx context.Context, fn func(error), done chan struct{}) {
	defer func() {
		c.mu.Lock()
		c.status.Watching = false
		c.mu.Unlock()
		close(done)
	}()
	tick := time.NewTicker(c.s.poll)
	defer tick.Stop()
	// wake fires for a retry, or for a source whose versions expire.
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	arm := func() {
		c.mu.Lock()
		next := c.status.NextRetry
		st := c.state()
		if by := st.reloadBy; !by.IsZero() && (next.IsZero() || by.Before(next)) {
			next = by
		}
		for _, v := range st.versions {
			// A lease is renewed (or replaced) when it is due, between polls.
			if e, ok := v.dep.(interface{ next() time.Time }); ok {
				if by := e.next(); !by.IsZero() && (next.IsZero() || by.Before(next)) {
					next = by
				}
			}
		}
		c.mu.Unlock()
		wake.Stop()
		if !next.IsZero() {
			wake.Reset(max(time.Until(next), 0))
		}
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake.C:
		}
		st := c.state()
		fresh := probeAll(ctx, c.stamps, st.versions)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		c.observe(st.versions, fresh, now)
		c.mu.Lock()
		c.status.Checked = now
		unchanged := versionsEqual(st.versions, fresh)
		due := !st.reloadBy.IsZero() && !now.Before(st.reloadBy)
		waiting := c.status.Failures > 0 && now.Before(c.status.NextRetry) &&
			(unchanged || slices.Equal(fresh, c.tried))
		if unchanged && !due {
			// Whatever failed to load was undone: nothing is pending.
			c.status.Failures, c.status.NextRetry = 0, time.Time{}
		}
		c.mu.Unlock()
		if unchanged && !due || waiting {
			arm() // a lease renewed moves its due time
			continue
		}
		_, err := c.reload(ctx, st, fresh)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		c.notify(fn, err)
		c.mu.Lock()
		c.tried = nil
		if err != nil {
			c.tried = fresh
		}
		c.mu.Unlock()
		arm()
	}
}
