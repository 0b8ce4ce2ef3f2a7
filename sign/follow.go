package sign

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/secretmem/secretmem/secret"
)

// A loaded key is what a key's cell becomes for an operation: derived
// cells (HMAC pads, an Ed25519 scalar) and public data. destroy wipes the
// derived cells.
type loaded interface{ destroy() }

// follower gives the loaded form of the key a secret.Source holds now.
// It loads a cell once, the first time the source hands it out, and keeps
// what it loaded for as long as the source keeps handing out that cell.
// When the source hands out another cell (a rotation), the new one is
// loaded and the old loaded form is kept for operations in flight until
// its cell dies (a config destroys replaced cells after its grace
// period); then its derived cells are destroyed too. Nothing derived from
// a key outlives the key's own cell by more than one call.
type follower[L loaded] struct {
	src  secret.Source
	name string
	load func(secret.Value) (L, error)

	cur      atomic.Pointer[entry[L]]
	retiring atomic.Int32 // len(retired), read without the lock

	mu      sync.Mutex
	retired []*entry[L]
	failed  secret.Value // the last cell that did not load, not tried again
	failErr error
	closed  bool
}

type entry[L any] struct {
	src secret.Value
	val L
}

// Errors reported when a key cannot be used. Their messages name the
// key, never its value.
var (
	// ErrNoKey: the source holds no live cell for the key (it is not in
	// the configuration, or its cell was destroyed).
	ErrNoKey = errors.New("sign: no key")
	// ErrClosed: the key was closed.
	ErrClosed = errors.New("sign: closed")
)

// get returns the loaded form of the source's current cell.
func (f *follower[L]) get() (L, error) {
	v := f.src.Secret(f.name)
	if f.retiring.Load() > 0 && f.mu.TryLock() {
		f.sweep()
		f.mu.Unlock()
	}
	if e := f.cur.Load(); e != nil && e.src == v && v.Alive() {
		return e.val, nil
	}
	return f.slow(v)
}

func (f *follower[L]) slow(v secret.Value) (L, error) {
	var zero L
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return zero, ErrClosed
	}
	e := f.cur.Load()
	if e != nil && e.src == v && v.Alive() {
		return e.val, nil // loaded by another caller meanwhile
	}
	if !v.Alive() {
		return zero, fmt.Errorf("%w: the source holds no live secret %q", ErrNoKey, f.name)
	}
	if v == f.failed {
		return zero, f.failErr
	}
	val, err := f.load(v)
	if err != nil {
		f.failed = v
		f.failErr = fmt.Errorf("sign: key %q: %w", f.name, err)
		return zero, f.failErr
	}
	f.failed, f.failErr = secret.Value{}, nil
	f.cur.Store(&entry[L]{src: v, val: val})
	if e != nil {
		f.retired = append(f.retired, e)
	}
	f.sweep()
	return val, nil
}

// sweep destroys the loaded forms whose cells died. f.mu is held.
func (f *follower[L]) sweep() {
	kept := f.retired[:0]
	for _, e := range f.retired {
		if e.src.Alive() {
			kept = append(kept, e)
			continue
		}
		e.val.destroy()
	}
	clear(f.retired[len(kept):])
	f.retired = kept
	f.retiring.Store(int32(len(kept)))
}

// close destroys every loaded form; later calls fail with ErrClosed.
func (f *follower[L]) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	if e := f.cur.Swap(nil); e != nil {
		e.val.destroy()
	}
	for _, e := range f.retired {
		e.val.destroy()
	}
	f.retired = nil
	f.retiring.Store(0)
}

// Static returns a Source that holds v under every name: for a key kept
// in a cell of your own rather than in a configuration.
func Static(v secret.Value) secret.Source {
	return secret.SourceFunc(func(string) secret.Value { return v })
}
