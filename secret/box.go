package secret

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Box holds one value of a fixed-size type T in protected memory: a key
// struct, a [32]byte, a pair of counters. T must hold no pointers, strings,
// slices, maps, interfaces, channels or functions: the garbage collector
// cannot see pointers inside protected memory, and the data they point to
// would not be protected anyway. NewBox rejects such types.
//
// A Box is a handle like Value: copies refer to the same cell. Use and
// Update may be called from many goroutines; Update excludes readers and
// other writers, and waits for them. A call made inside a Use or Update
// callback never waits: Update (or Use) of a box the callback's goroutine
// or another goroutine holds in a conflicting way returns ErrBusy at
// once, so no sequence of calls can deadlock. (A callback that waits for
// another goroutine which calls Update on the box the callback reads
// still waits forever, as with any lock: do not block inside callbacks.)
type Box[T any] struct{ h *boxHandle }

type boxHandle struct {
	handle // first: the finalizer is set on the start of the allocation
	lock   boxLock
	// frozen is set by Freeze, under the write lock: from then on no
	// Update writes, so readers need not take the lock.
	frozen atomic.Bool
	// pinOnly says a read needs nothing but the arena's pin, which keeps
	// the slot from being freed while the reader is inside: the cell is
	// plaintext, not volatile and has no TTL (so the pin's check of the
	// slot's generation is the check that it is alive), and is not empty.
	// Set by NewBox, never changed.
	pinOnly bool
}

// ErrType reports a type that cannot live in protected memory.
var ErrType = fmt.Errorf("secret: type cannot live in protected memory")

// NewBox copies v into a new cell. Options are those of Value: Guarded,
// Sealed, Volatile (the first Use consumes the box), TTL, Label,
// AllowUnlocked. The copy of v passed to NewBox is wiped; the caller's
// original is the caller's to wipe.
func NewBox[T any](v T, opts ...Option) (Box[T], error) {
	size := int(unsafe.Sizeof(v))
	if err := checkPlain(reflect.TypeFor[T]()); err != nil {
		return Box[T]{}, err
	}
	if size == 0 {
		return Box[T]{}, fmt.Errorf("%w: %v has size zero", ErrType, reflect.TypeFor[T]())
	}
	o, err := collect(opts)
	if err != nil {
		return Box[T]{}, err
	}
	o.trimNewline = false
	bh := &boxHandle{}
	src := unsafe.Slice((*byte)(unsafe.Pointer(&v)), size)
	err = bh.init(size, o, int(unsafe.Alignof(v)), func(dst []byte) (int, error) {
		return copy(dst, src), nil
	})
	wipeArray(unsafe.Pointer(&v), size)
	if err != nil {
		return Box[T]{}, err
	}
	bh.pinOnly = !bh.sealed && !bh.volatile && bh.expires.IsZero() && bh.n > 0
	return Box[T]{h: bh}, nil
}

// checkPlain rejects types that hold pointers the collector must see.
func checkPlain(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		if err := checkPlain(t.Elem()); err != nil {
			return fmt.Errorf("%w (in %v)", err, t)
		}
		return nil
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if err := checkPlain(f.Type); err != nil {
				return fmt.Errorf("%w (field %s of %v)", err, f.Name, t)
			}
		}
		return nil
	}
	words, ok := kindWords[t.Kind()]
	if !ok {
		words = "a " + t.Kind().String()
	}
	return fmt.Errorf("%w: %v is %s, which holds a pointer", ErrType, t, words)
}

// kindWords names the refused kinds in an error message.
var kindWords = map[reflect.Kind]string{
	reflect.Pointer:       "a pointer",
	reflect.UnsafePointer: "an unsafe.Pointer",
	reflect.String:        "a string",
	reflect.Slice:         "a slice",
	reflect.Map:           "a map",
	reflect.Interface:     "an interface",
	reflect.Chan:          "a channel",
	reflect.Func:          "a function",
}

// Use calls fn with a pointer to the value. The pointer is valid only inside
// fn; the value must not be modified through it (use Update). A volatile
// box is consumed by the first Use. Update on the same box inside fn
// returns ErrBusy; Destroy inside fn is allowed and wipes the box when fn
// returns.
func (b Box[T]) Use(fn func(*T) error) error {
	if b.h == nil {
		return ErrDestroyed
	}
	return b.h.read(func(p []byte) error {
		return fn((*T)(unsafe.Pointer(unsafe.SliceData(p))))
	})
}

// read runs every Use callback: insideCallback finds it on the stack.
// A frozen pinOnly box (sign's derived keys, on every MAC) needs nothing
// from a read but the arena's pin, which keeps its slot from being freed
// while the reader is inside: the cell is plaintext, not volatile, has no
// TTL (the pin's check of the slot's generation is the check that it is
// alive) and is not empty. A failure to pin says why the cell ended, as
// acquire would.
//
//go:noinline
func (h *boxHandle) read(fn func([]byte) error) error {
	if h.frozen.Load() {
		if h.pinOnly {
			p, err := h.ref.Read()
			if err != nil {
				return h.refErr(err)
			}
			defer h.ref.Unread()
			return run(fn, unsafe.Slice((*byte)(p), h.n))
		}
		return h.view(true, fn)
	}
	if err := h.lock.rlock(); err != nil {
		return err
	}
	defer h.lock.runlock()
	return h.view(true, fn)
}

// Update calls fn with a pointer through which it may change the value.
// Like Use, it runs fn inside runtime/secret.Do when built with
// GOEXPERIMENT=runtimesecret (see Erasing). A
// guarded box is writable only during fn; a sealed box is decrypted into a
// scratch cell and sealed again under a fresh nonce afterwards. Update does
// not consume a volatile box. If fn returns an error the changes it made
// are kept, as with any pointer. Called inside a Use or Update of the
// same box it returns ErrBusy at once.
func (b Box[T]) Update(fn func(*T) error) error {
	if b.h == nil {
		return ErrDestroyed
	}
	return b.h.write(func(p []byte) error {
		return fn((*T)(unsafe.Pointer(unsafe.SliceData(p))))
	})
}

// write runs every Update callback: insideCallback finds it on the stack.
// A nil fn is Freeze, which takes the lock here so that insideCallback
// counts its frames as it does an Update's.
//
//go:noinline
func (h *boxHandle) write(fn func([]byte) error) error {
	if err := h.lock.lock(); err != nil {
		return err
	}
	defer h.lock.unlock()
	if fn == nil {
		if err := h.ended(); err != nil {
			return err
		}
		h.frozen.Store(true)
		return nil
	}
	if h.frozen.Load() {
		// A box that ended, or whose TTL ran out, says why, frozen or not.
		if err := h.ended(); err != nil {
			return err
		}
		return ErrFrozen
	}
	if h.sealed {
		return h.updateSealed(fn)
	}
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	defer h.releaseWrite()
	return run(fn, unsafe.Slice((*byte)(p), h.n))
}

// Freeze makes the box's value final: later Updates fail with ErrFrozen,
// and Use no longer takes the box's readers-writer lock, which saves two
// atomic operations per call (about a tenth of an HMAC of a short
// message). Freeze a box that many goroutines read and nothing changes,
// once its value is set. Called inside a Use or Update of the same box it
// returns ErrBusy, and on a box that ended, why it ended; on a frozen box
// it does nothing.
func (b Box[T]) Freeze() error {
	if b.h == nil {
		return ErrDestroyed
	}
	return b.h.write(nil)
}

// Destroy wipes the box. Idempotent and safe on the zero Box.
func (b Box[T]) Destroy() {
	if b.h != nil {
		b.h.end(endedDestroyed)
	}
}

// Alive reports whether the box can still be read.
func (b Box[T]) Alive() bool { return b.h != nil && b.value().Alive() }

func (b Box[T]) value() Value {
	if b.h == nil {
		return Value{}
	}
	return Value{h: &b.h.handle}
}

// String returns "[REDACTED]" (or "[REDACTED label]").
func (b Box[T]) String() string { return b.value().redacted() }

// GoString is used by %#v.
func (b Box[T]) GoString() string {
	return fmt.Sprintf("secret.Box[%v](%s)", reflect.TypeFor[T](), b.value().redacted())
}

// Format redacts for every verb and flag.
func (b Box[T]) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(b.GoString()))
		return
	}
	b.value().Format(f, verb)
}

// LogValue makes slog print the redacted form.
func (b Box[T]) LogValue() slog.Value { return b.value().LogValue() }

// MarshalJSON encodes the redacted form.
func (b Box[T]) MarshalJSON() ([]byte, error) { return b.value().MarshalJSON() }

// MarshalText encodes the redacted form.
func (b Box[T]) MarshalText() ([]byte, error) { return b.value().MarshalText() }
