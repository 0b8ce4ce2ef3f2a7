package wipe

import (
	"reflect"
	"unsafe"
)

// Boxed overwrites the value an interface holds, when the runtime boxed
// it in heap memory: the int64 or float64 a parser made of a numeric
// secret, a date's fields. Only the part of the value before its first
// pointer is written (all of a number, the wall clock and monotonic
// reading of a time.Time, not its *Location), so the garbage collector
// never sees a pointer change under it. Values the runtime keeps in static
// memory (small integers, zero values) are left alone. It reports whether
// it wrote.
func Boxed(v any) bool {
	if v == nil {
		return false
	}
	n := pointerFreePrefix(reflect.TypeOf(v))
	if n == 0 {
		return false
	}
	// An interface is a type word and a data word; a value without
	// pointers is never stored in the data word itself.
	data := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1]
	return String(unsafe.String((*byte)(data), int(n)))
}

// pointerFreePrefix is how many leading bytes of a t hold no pointer.
func pointerFreePrefix(t reflect.Type) uintptr {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return t.Size()
	case reflect.Array:
		if pointerFreePrefix(t.Elem()) == t.Elem().Size() {
			return t.Size()
		}
		return 0
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if pointerFreePrefix(f.Type) != f.Type.Size() {
				return f.Offset
			}
		}
		return t.Size()
	}
	return 0
}
