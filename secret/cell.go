package secret

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/arena"
)

const (
	alive uint32 = iota
	endedDestroyed
	endedExpired
	endedConsumed
	neverMade // Unavailable: there never was a cell; why says why
)

type handle struct {
	ref      arena.Ref
	n        int
	state    atomic.Uint32 // alive, or why the cell ended
	volatile bool
	// armed says the finalizer is set: free drops it only then, since
	// SetFinalizer(h, nil) takes the runtime's lock even when there is
	// nothing to drop, and a Scoped request cell never had one.
	armed    bool
	expires  time.Time // zero without a TTL
	timer    *time.Timer
	redacted string
	sealed   bool     // the cell holds ciphertext; reads decrypt into a scratch cell
	seal     *sealing // a sealed cell's pre-key and identity (nil when empty)
	why      error    // of an Unavailable Value
}

// init allocates the cell behind h: n bytes (plus the seal's overhead),
// written by fill, with the placement, lifetime and label the options ask
// for. align is the alignment the first byte needs (0 for bytes).
func (h *handle) init(n int, o options, align int, fill func([]byte) (int, error)) error {
	if n < 0 || n > MaxSize {
		return fmt.Errorf("%w: %d bytes (the limit is %d)", ErrSize, n, MaxSize)
	}
	h.volatile = o.volatile
	h.sealed = o.sealed
	if n > 0 {
		ao := arena.Options{Guarded: o.guarded, Own: o.own, AllowUnlocked: o.allowUnlocked, Align: align}
		var ref arena.Ref
		var used int
		var err error
		if o.sealed {
			ref, used, h.seal, err = allocSealed(n, ao, o.trimNewline, fill)
		} else {
			ref, used, err = arena.Alloc(n, ao, func(dst []byte) (int, error) {
				used, err := fill(dst)
				if err == nil && o.trimNewline {
					used = trimNewline(dst, used)
				}
				return used, err
			})
		}
		if err != nil {
			return err
		}
		h.ref, h.n = ref, used
		if !o.sealed && !o.volatile && !o.unregistered {
			ref.Register()
		}
		if !o.scoped {
			setFinalizer(h)
		}
	}
	h.redacted = labelText(o.label)
	if o.ttl > 0 {
		h.expires = time.Now().Add(o.ttl)
		// The timer holds the slot, not the handle, so an unreachable TTL
		// cell can still be finalized. Reads check the deadline themselves.
		ref, seal := h.ref, h.seal
		h.timer = time.AfterFunc(o.ttl, func() {
			if ref.Destroy() {
				seal.end()
			}
		})
	}
	return nil
}

// setFinalizer arms the safety net: a cell nobody destroyed is wiped once
// its handle is unreachable. A finalizer rather than runtime.AddCleanup:
// both are bookkeeping in the runtime, but AddCleanup also allocates two
// objects per cell, and this is the request path.
func setFinalizer(h *handle) {
	h.armed = true
	runtime.SetFinalizer(h, finalizeHandle)
}

func labelText(label string) string {
	if label == "" {
		return ""
	}
	return "[REDACTED " + label + "]"
}

// finalizeHandle wipes a cell whose handle became unreachable without
// Destroy. It may never run (the runtime makes no promise): it is a safety
// net, not the mechanism.
func finalizeHandle(h *handle) {
	h.destroyRef()
	if h.timer != nil {
		h.timer.Stop()
	}
}

// destroyRef destroys the cell's memory and reports whether this call did.
// The call that does lets a sealed cell's pre-key go.
func (h *handle) destroyRef() bool {
	if !h.ref.Destroy() {
		return false
	}
	h.seal.end()
	return true
}

// end records why the cell ended (the first reason wins) and frees it.
func (h *handle) end(why uint32) {
	h.state.CompareAndSwap(alive, why)
	h.free()
}

// free destroys the cell and disarms what watched it.
func (h *handle) free() {
	if h.destroyRef() && h.armed {
		// Drop the safety net with the cell: an armed finalizer costs the
		// runtime a list entry per object until the handle is collected.
		runtime.SetFinalizer(h, nil)
	}
	if h.timer != nil {
		h.timer.Stop()
	}
}

// ended says why the cell can no longer be used, or nil while it can: it
// was ended (destroyed, consumed, purged), or its TTL has run out, which
// ends it now if the timer has not yet.
func (h *handle) ended() error {
	if s := h.state.Load(); s != alive {
		return h.stateErr(s)
	}
	if !h.expires.IsZero() && !time.Now().Before(h.expires) {
		h.end(endedExpired)
		return ErrExpired
	}
	return nil
}

// acquire opens the cell for reading. consume marks a volatile cell read.
func (h *handle) acquire(consume bool) (unsafe.Pointer, error) {
	if err := h.ended(); err != nil {
		return nil, err
	}
	if consume && h.volatile && !h.state.CompareAndSwap(alive, endedConsumed) {
		return nil, endedErr(h.state.Load())
	}
	if h.n == 0 {
		return unsafe.Pointer(&zeroByte), nil
	}
	p, err := h.ref.Acquire()
	if err == nil {
		return p, nil
	}
	if consume && h.volatile {
		h.destroyRef()
	}
	switch {
	case errors.Is(err, arena.ErrGone):
		// Ended by Purge, a concurrent Destroy or the TTL timer racing
		// this read.
		h.state.CompareAndSwap(alive, h.goneWhy())
		s := h.state.Load()
		if s == endedConsumed && consume && h.volatile {
			// This read claimed the cell, but it had already ended.
			return nil, ErrDestroyed
		}
		return nil, endedErr(s)
	}
	return nil, arenaErr(err)
}

var zeroByte byte

func (h *handle) release(consume bool) {
	if h.n > 0 {
		h.ref.Release()
	}
	if consume && h.volatile {
		h.free()
	}
}

func endedErr(s uint32) error {
	switch s {
	case endedExpired:
		return ErrExpired
	case endedConsumed:
		return ErrConsumed
	}
	return ErrDestroyed
}

// acquireWrite opens a live cell for writing, without consuming it.
func (h *handle) acquireWrite() (unsafe.Pointer, error) {
	if err := h.ended(); err != nil {
		return nil, err
	}
	p, err := h.ref.AcquireWrite()
	if err != nil {
		return nil, h.refErr(err)
	}
	return p, nil
}

func (h *handle) releaseWrite() { h.ref.ReleaseWrite() }

// refErr turns an arena error into this package's.
func (h *handle) refErr(err error) error {
	if errors.Is(err, arena.ErrGone) {
		h.state.CompareAndSwap(alive, h.goneWhy())
		return endedErr(h.state.Load())
	}
	return arenaErr(err)
}

// arenaErr turns an error from opening a Ref into this package's: a slot
// that is gone reads as ErrDestroyed, a damaged canary as ErrCorrupted.
// Cells held by a handle go through refErr, which knows more.
func arenaErr(err error) error {
	switch {
	case errors.Is(err, arena.ErrGone):
		return ErrDestroyed
	case errors.Is(err, arena.ErrCorrupted):
		return errCanary
	}
	return fmt.Errorf("secret: opening the cell: %w", err)
}

// goneWhy tells why a cell whose slot is gone ended, when the handle did not
// record it. The TTL timer holds only the slot, so it cannot say: a slot gone
// past the deadline expired (the timer never fires before it), and a read
// that passed the deadline check just before the timer fired must still
// report ErrExpired.
func (h *handle) goneWhy() uint32 {
	if !h.expires.IsZero() && !time.Now().Before(h.expires) {
		return endedExpired
	}
	return endedDestroyed
}
