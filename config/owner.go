package config

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// owner holds a configuration's current state and owns its cells; Config
// and Provider are each one. A reload installs a new state and retires the
// cells of the old one that the new one does not share: they stay
// readable for the grace period (readers that took a Value just before the
// swap may still use it), then are destroyed. Close destroys everything,
// waiting batches included.
type owner struct {
	s   *settings
	cur atomic.Pointer[state]

	// reload is held by a load in flight, from load to install, and by
	// close, so that no load creates cells or unsets variables after close
	// returned.
	reload sync.Mutex

	mu      sync.Mutex // guards closed and pending; the retire timers take it
	closed  bool
	pending map[*time.Timer][]secret.Value
}

// state is the current state, nil before the first load.
func (o *owner) state() *state { return o.cur.Load() }

// refresh loads the sources again and installs the result.
func (o *owner) refresh() error {
	o.reload.Lock()
	defer o.reload.Unlock()
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return ErrClosed
	}
	st, err := o.s.load(o.state())
	if err != nil {
		return err
	}
	return o.install(st)
}

// install makes st current and retires the cells of the state it
// replaces that st does not share.
func (o *owner) install(st *state) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		for v := range st.owned {
			v.Destroy()
		}
		return ErrClosed
	}
	if old := o.cur.Swap(st); old != nil {
		o.retire(old, st)
	}
	return nil
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

// close runs stop (if any), then destroys every cell: the current
// state's, and those still in their grace period. It waits for a load in
// flight and is idempotent.
func (o *owner) close(stop func()) {
	o.reload.Lock()
	defer o.reload.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	if stop != nil {
		stop()
	}
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
}
