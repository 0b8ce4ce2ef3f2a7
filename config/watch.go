package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Watch reloads the configuration whenever a file or directory it came
// from changes: configuration files, secret directories (including a
// Kubernetes ..data swap), _FILE targets and file: references. It polls
// every PollInterval (default 10 s) rather than using inotify, which
// misses Kubernetes' symlink swaps and does not work on every file system.
//
// A reload runs every source again with the same options. If it succeeds,
// the new values replace the old ones atomically and fn(nil) is called;
// if it fails, the old values stay and fn receives the error. Cells that a
// reload replaced stay readable for GracePeriod (default one minute), so
// work in flight can finish, and are then destroyed. Environment
// variables are read once: a reload reuses the cells of the secrets it
// took from them.
//
// Watch returns at once. Watching stops when ctx is done or at Close.
// fn may be nil; it runs on the watching goroutine.
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
	c.stop, c.watching = cancel, true
	last := fingerprint(c.state().watch)
	go c.poll(ctx, last, fn)
	return nil
}

func (c *Config) poll(ctx context.Context, last string, fn func(error)) {
	tick := time.NewTicker(c.s.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fp := fingerprint(c.state().watch)
		if fp == last {
			continue
		}
		// Even a failed reload moves last on: the same broken content is
		// reported once, not at every tick.
		last = fp
		err := c.refresh()
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return
		}
		if fn != nil {
			fn(err)
		}
	}
}

// fingerprint describes the watched paths: size, modification time and
// mode of each (following symbolic links), directory listings, and where
// a Kubernetes ..data link points.
func fingerprint(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(&b, "%s:!%v\n", p, err)
			continue
		}
		fmt.Fprintf(&b, "%s:%d:%d:%v\n", p, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		if !fi.IsDir() {
			continue
		}
		if target, err := os.Readlink(filepath.Join(p, "..data")); err == nil {
			fmt.Fprintf(&b, " ..data->%s\n", target)
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			fmt.Fprintf(&b, " %s\n", e.Name())
		}
	}
	return b.String()
}
