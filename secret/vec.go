package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/arena"
)

// Vec is a growable sequence of a fixed-size, pointer-free type T in
// protected memory: a password typed one key at a time, a buffer of key
// material assembled in pieces. Growth copies from one protected region
// into a larger one and wipes the old; the plaintext never passes through
// the Go heap.
//
// A Vec is a handle: copies refer to the same sequence. Like a slice or a
// bytes.Buffer it is not safe for concurrent mutation; Destroy and Purge
// are safe at any time.
type Vec[T any] struct{ h *vecHandle }

type vecHandle struct {
	handle        // first: the finalizer is set on the start of the allocation; n is Len*size
	capacity int  // elements
	size     int  // bytes per element
	frozen   bool // handed over to a Value by Freeze
	opts     options
	// using counts the Use calls in flight. A Vec is not for concurrent
	// mutation, so one in flight during a change is the changer's own
	// enclosing Use: the change gets ErrBusy rather than moving the bytes
	// out from under it.
	using atomic.Int32
}

// ErrFrozen: the cell was frozen and no longer changes: a Vec turned into
// a Value by Vec.Freeze, or a Box made final by Box.Freeze.
var ErrFrozen = errors.New("secret: the cell was frozen and no longer changes")

const minVecCap = 16

// NewVec returns an empty Vec with room for capacity elements (at least
// a few, if they are small). The whole Vec, like any cell, is limited to
// MaxSize bytes: a capacity or a growth beyond that fails with ErrSize.
// Options are those of Value except Sealed: Guarded (the sequence
// is inaccessible between calls, at the cost of two system calls per
// Push), Volatile, TTL, Label, AllowUnlocked.
func NewVec[T any](capacity int, opts ...Option) (Vec[T], error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if err := checkPlain(reflect.TypeFor[T]()); err != nil {
		return Vec[T]{}, err
	}
	if size == 0 {
		return Vec[T]{}, fmt.Errorf("%w: %v has size zero", ErrType, reflect.TypeFor[T]())
	}
	if size > MaxSize {
		return Vec[T]{}, fmt.Errorf("%w: one %d-byte element of %v is over the limit of %d bytes", ErrSize, size, reflect.TypeFor[T](), MaxSize)
	}
	if capacity < 0 || capacity > MaxSize/size {
		return Vec[T]{}, fmt.Errorf("%w: capacity %d of %d-byte elements (the limit is %d bytes)", ErrSize, capacity, size, MaxSize)
	}
	o, err := collect(opts)
	if err != nil {
		return Vec[T]{}, err
	}
	if o.sealed {
		return Vec[T]{}, fmt.Errorf("%w: a Vec cannot be sealed (create a sealed Value or Box from it inside Use)", ErrOption)
	}
	o.trimNewline = false
	// The floor saves small Vecs a few early growths. It never takes a
	// Vec past MaxSize, nor out of the pooled sizes on its own: a Vec of
	// 5 MiB elements asked to hold one gets one, not 80 MiB of locked
	// memory.
	capacity = max(capacity, min(minVecCap, max(1, arena.MaxPooled/size)))
	vh := &vecHandle{size: size, opts: o}
	ref, err := allocVec(capacity*size, o, int(unsafe.Alignof(zero)), nil)
	if err != nil {
		return Vec[T]{}, err
	}
	vh.ref, vh.capacity = ref, capacity
	vh.volatile = o.volatile
	vh.redacted = labelText(o.label)
	if o.ttl > 0 {
		vh.expires = time.Now().Add(o.ttl)
		vh.timer = time.AfterFunc(o.ttl, func() { ref.Destroy() })
	}
	setFinalizer(&vh.handle)
	return Vec[T]{h: vh}, nil
}

// allocVec maps bytes for a Vec, copying from (and not freeing) old.
func allocVec(bytes int, o options, align int, old []byte) (arena.Ref, error) {
	ao := arena.Options{Guarded: o.guarded, Own: !o.guarded && bytes > arena.MaxPooled,
		AllowUnlocked: o.allowUnlocked, Align: align}
	ref, _, err := arena.Alloc(bytes, ao, func(dst []byte) (int, error) {
		copy(dst, old)
		return len(dst), nil
	})
	return ref, err
}

// reserve makes room for extra more elements, growing into a new region.
func (h *vecHandle) reserve(extra, align int) error {
	need := h.n/h.size + extra
	if need <= h.capacity {
		return nil
	}
	if need > MaxSize/h.size {
		return fmt.Errorf("%w: %d elements of %d bytes (the limit is %d bytes)", ErrSize, need, h.size, MaxSize)
	}
	newCap := max(2*h.capacity, need)
	newCap = min(newCap, MaxSize/h.size)
	p, err := h.acquire(false)
	if err != nil {
		return err
	}
	ref, err := allocVec(newCap*h.size, h.opts, align, unsafe.Slice((*byte)(p), h.n))
	h.release(false)
	if err != nil {
		return err
	}
	old := h.ref
	h.ref, h.capacity = ref, newCap
	old.Destroy() // wipes the old region
	if h.timer != nil && h.timer.Stop() {
		h.timer = time.AfterFunc(time.Until(h.expires), func() { ref.Destroy() })
	}
	return nil
}

func (v Vec[T]) mutable() (*vecHandle, error) {
	h := v.h
	if h == nil {
		return nil, ErrDestroyed
	}
	if h.frozen {
		return nil, ErrFrozen
	}
	if h.using.Load() > 0 {
		return nil, ErrBusy
	}
	return h, nil
}

// Push appends one element.
func (v Vec[T]) Push(x T) error {
	h, err := v.mutable()
	if err != nil {
		return err
	}
	if h.n+h.size > h.capacity*h.size {
		if err := h.reserve(1, int(unsafe.Alignof(x))); err != nil {
			return err
		}
	}
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	*(*T)(unsafe.Add(p, h.n)) = x
	h.releaseWrite()
	h.n += h.size
	return nil
}

// Append appends src and wipes it.
func (v Vec[T]) Append(src []T) error {
	h, err := v.mutable()
	if err != nil {
		return err
	}
	if len(src) == 0 {
		return nil
	}
	var zero T
	if err := h.reserve(len(src), int(unsafe.Alignof(zero))); err != nil {
		return err
	}
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	dst := unsafe.Slice((*T)(unsafe.Add(p, h.n)), len(src))
	copy(dst, src)
	h.releaseWrite()
	h.n += len(src) * h.size
	wipeArray(unsafe.Pointer(unsafe.SliceData(src)), len(src)*h.size)
	return nil
}

// Truncate shortens the sequence to n elements and wipes the rest.
func (v Vec[T]) Truncate(n int) error {
	h, err := v.mutable()
	if err != nil {
		return err
	}
	if n < 0 || n > h.n/h.size {
		return fmt.Errorf("%w: cannot truncate %d elements to %d", ErrSize, h.n/h.size, n)
	}
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	clear(unsafe.Slice((*byte)(unsafe.Add(p, n*h.size)), h.n-n*h.size))
	h.releaseWrite()
	h.n = n * h.size
	return nil
}

// Len returns the number of elements, or 0 once the Vec ended.
func (v Vec[T]) Len() int {
	if v.h == nil || !(Value{h: &v.h.handle}).Alive() {
		return 0
	}
	return v.h.n / v.h.size
}

// Cap returns how many elements fit before the next growth.
func (v Vec[T]) Cap() int {
	if v.h == nil {
		return 0
	}
	return v.h.capacity
}

// Use calls fn with the elements. The slice is valid only inside fn and
// must not be kept. A volatile Vec is consumed by the first Use. Push,
// Append, Truncate and Freeze called inside fn return ErrBusy; Destroy is
// allowed and wipes the Vec when fn returns.
func (v Vec[T]) Use(fn func([]T) error) error {
	if v.h == nil {
		return ErrDestroyed
	}
	size := v.h.size
	v.h.using.Add(1)
	defer v.h.using.Add(-1)
	return v.h.view(true, func(b []byte) error {
		return fn(unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/size))
	})
}

// Freeze hands the elements over to a Value without copying them out of
// protected memory: a password read one key at a time becomes an ordinary
// cell. The Vec stops growing (ErrFrozen); the Value and the Vec share the
// cell, so destroying either destroys both. The Value keeps the Vec's
// lifetime options (Volatile, TTL, Label).
func (v Vec[T]) Freeze() (Value, error) {
	h, err := v.mutable()
	if err != nil {
		return Value{}, err
	}
	val := Value{h: &h.handle}
	if !val.Alive() {
		return Value{}, endedErr(h.state.Load())
	}
	h.frozen = true
	h.ref.SetLen(h.n)
	h.ref.Register()
	return val, nil
}

// Destroy wipes the sequence. Idempotent and safe on the zero Vec.
func (v Vec[T]) Destroy() {
	if v.h != nil {
		v.h.end(endedDestroyed)
	}
}

func (v Vec[T]) value() Value {
	if v.h == nil {
		return Value{}
	}
	return Value{h: &v.h.handle}
}

// String returns "[REDACTED]" (or "[REDACTED label]").
func (v Vec[T]) String() string { return v.value().redacted() }

// GoString is used by %#v.
func (v Vec[T]) GoString() string {
	return fmt.Sprintf("secret.Vec[%v](%s)", reflect.TypeFor[T](), v.value().redacted())
}

// Format redacts for every verb and flag.
func (v Vec[T]) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(v.GoString()))
		return
	}
	v.value().Format(f, verb)
}

// LogValue makes slog print the redacted form.
func (v Vec[T]) LogValue() slog.Value { return v.value().LogValue() }

// MarshalJSON encodes the redacted form.
func (v Vec[T]) MarshalJSON() ([]byte, error) { return v.value().MarshalJSON() }

// MarshalText encodes the redacted form.
func (v Vec[T]) MarshalText() ([]byte, error) { return v.value().MarshalText() }
