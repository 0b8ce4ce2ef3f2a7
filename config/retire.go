package config

import (
	"sync"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// retirer destroys the cells a reload replaced once a grace period has
// passed (readers that took a Value just before the swap may still use
// it), and every cell still waiting at Close. Batches are keyed by their
// timer, so a destroyed batch is dropped rather than kept until Close: a
// watcher may reload for ever. Its methods run with *mu held; the timers
// take mu themselves.
type retirer struct {
	mu      *sync.Mutex
	pending map[*time.Timer][]secret.Value
}

// retire schedules the cells old owned that next does not.
func (r *retirer) retire(old, next *state, grace time.Duration) {
	var retired []secret.Value
	for v := range old.owned {
		if _, shared := next.owned[v]; !shared {
			retired = append(retired, v)
		}
	}
	if len(retired) == 0 {
		return
	}
	if r.pending == nil {
		r.pending = make(map[*time.Timer][]secret.Value)
	}
	var t *time.Timer
	t = time.AfterFunc(grace, func() {
		r.mu.Lock()
		_, pending := r.pending[t]
		delete(r.pending, t)
		r.mu.Unlock()
		if pending {
			destroyAll(retired)
		}
	})
	r.pending[t] = retired
}

// flush destroys every waiting batch now.
func (r *retirer) flush() {
	for t, cells := range r.pending {
		t.Stop()
		destroyAll(cells)
	}
	r.pending = nil
}
