package config

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// owner holds a configuration's current state and owns its cells; Config
// and Provider are each one. A reload installs a new state and retires the
// cells of the old one that the new one does not share: they stay
// readable for the grace period (readers that took a Value or a Snapshot
// just before the swap may still use it), then are destroyed. Close
// destroys everything, waiting batches included.
type owner struct {
	s      *settings
	cur    atomic.Pointer[state]
	stamps *stamper

	// life ends when close begins: every load, probe and wait a reload
	// runs under it stops at its next step.
	life context.Context
	end  context.CancelFunc
	// turn holds one token while a reload runs (load, settle, install), so
	// reloads take turns; a channel, so that a waiter can give up.
	turn chan struct{}
	shut atomic.Bool // close began: Snapshot says ErrClosed, not ErrRetired

	mu      sync.Mutex // guards what follows; the retire timers take it
	closed  bool
	pending map[*time.Timer][]secret.Value
	stuck   *attempt // a reload abandoned in a read that has not returned
	status  ReloadStatus
	seen    map[fileDep]sighting // what files were seen holding, and since when
}

// init prepares o for its first load.
func (o *owner) init(s *settings) error {
	o.s = s
	o.life, o.end = context.WithCancel(context.Background())
	o.turn = make(chan struct{}, 1)
	if s.err != nil {
		return s.err
	}
	st, err := newStamper()
	if err != nil {
		return err
	}
	o.stamps = st
	return nil
}

// state is the current state, nil before the first load.
func (o *owner) state() *state { return o.cur.Load() }

// first installs the state of the first load as generation 1. It runs
// with mu held, or before o is shared.
func (o *owner) first(st *state) {
	now := time.Now()
	o.observeLocked(st.versions, stampsOf(st.versions), now)
	st.gen = 1
	st.unsetEnv(o.s)
	o.cur.Store(st)
	o.status = ReloadStatus{Generation: 1, Installed: now, LastSuccess: now}
}

// refresh loads the sources again and installs the result at once, for
// Provider.Read: no settle wait, no retry.
func (o *owner) refresh() error {
	if o.stamps == nil {
		return o.s.err
	}
	select {
	case o.turn <- struct{}{}:
	case <-o.life.Done():
		return ErrClosed
	}
	defer func() { <-o.turn }()
	st, err := o.s.load(o.life, o.state(), o.stamps)
	if err != nil {
		if o.life.Err() != nil {
			return ErrClosed
		}
		return err
	}
	if o.state() == nil {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.closed {
			st.discard()
			return ErrClosed
		}
		o.first(st)
		return nil
	}
	_, err = o.install(nil, st)
	return err
}

// install makes st current, keeping the cells of the old state whose
// secrets did not change (see carryOver), and retires the old cells st
// does not share. It refuses, and discards st, once o is closed or the
// attempt a that loaded st was abandoned. It returns the keys that
// changed.
func (o *owner) install(a *attempt, st *state) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || a != nil && a.abandoned {
		st.discard()
		return nil, ErrClosed
	}
	old := o.cur.Load()
	changed := carryOver(old, st)
	st.gen = old.gen
	now := time.Now()
	if len(changed) > 0 {
		st.gen++
		o.status.Generation, o.status.Installed, o.status.Changed = st.gen, now, changed
	}
	st.unsetEnv(o.s)
	o.cur.Store(st)
	o.retire(old, st)
	o.status.Reloads++
	o.status.LastSuccess = now
	o.status.LastError, o.status.Failures, o.status.NextRetry = nil, 0, time.Time{}
	return changed, nil
}

// retire schedules the cells old owned that next does not. Batches are
// keyed by their timer, so a destroyed batch is dropped at once rather
// than kept until close: a watcher may reload for ever. It runs with mu
// held.
func (o *owner) retire(old, next *state) {
	var retired []secret.Value
	for v := range old.owned {
		if _, shared := next.owned[v]; !shared {
			retired = append(retired, v)
		}
	}
	if len(retired) == 0 {
		return
	}
	if o.pending == nil {
		o.pending = make(map[*time.Timer][]secret.Value)
	}
	var t *time.Timer
	t = time.AfterFunc(o.s.grace, func() {
		o.mu.Lock()
		_, pending := o.pending[t]
		delete(o.pending, t)
		o.mu.Unlock()
		if pending {
			destroyAll(retired)
		}
	})
	o.pending[t] = retired
}

// close destroys every cell, the current state's and those still in
// their grace period, and ends every reload: a reload in flight is
// cancelled and close waits, until ctx is done, for it to return. A
// reload stuck in a read the system does not interrupt (a hung network
// file system) is abandoned: close returns an error saying so, and the
// cells that reload made are destroyed when its read returns. stop (if
// any) runs first, with the watcher's other shutdown work.
func (o *owner) close(ctx context.Context, stop func()) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.shut.Store(true)
	o.status.Closed = true
	o.end()
	for t, cells := range o.pending {
		t.Stop()
		destroyAll(cells)
	}
	o.pending = nil
	if st := o.state(); st != nil {
		for v := range st.owned {
			v.Destroy()
		}
	}
	stuck := o.stuck
	o.mu.Unlock()
	if stop != nil {
		stop()
	}
	if stuck != nil {
		return stuck.abandonedError("closed")
	}
	// Take the turn for good: no reload runs after this.
	select {
	case o.turn <- struct{}{}:
	case <-ctx.Done():
		o.mu.Lock()
		stuck = o.stuck
		o.mu.Unlock()
		if stuck != nil {
			return stuck.abandonedError("closed")
		}
		return fmt.Errorf("config: closed without waiting for the reload in flight: %w", ctx.Err())
	}
	if o.stamps != nil {
		o.stamps.destroy()
	}
	return nil
}
