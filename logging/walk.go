package logging

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// A value of kind Any (a struct, map, slice, pointer...) is checked in
// its data, without rendering it: rendering through encoding/json or fmt
// leaves the text in their pooled buffers, unwiped, and a value that
// holds a secret would leave the secret there. The walk reads strings and
// bytes where they lie, matches struct field names (Go and JSON) and map
// keys like attribute keys, and calls the String, Error and Marshal
// methods handlers would call, checking what they return. When something
// must change, sanitize makes a copy of the same type with it changed,
// and only that copy is ever rendered.

// safeTypes are types whose methods cannot return a secret and whose data
// need no walk.
var safeTypes = map[reflect.Type]bool{
	reflect.TypeFor[time.Time]():      true,
	reflect.TypeFor[time.Duration]():  true,
	reflect.TypeFor[*time.Location](): true,
	reflect.TypeFor[time.Month]():     true,
	reflect.TypeFor[time.Weekday]():   true,
}

// walk is the state of one check or copy of a value.
type walk struct {
	c      *compiled
	budget int // nodes left to visit
}

// maxValueNodes bounds the nodes visited in one value: a huge map costs
// bounded time and is replaced by a placeholder.
const maxValueNodes = 4096

// view returns v's data as an addressable Value without copying it, so
// that byte arrays can be read in place. x is the interface v came from.
func view(x any) reflect.Value {
	v := reflect.ValueOf(x)
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Map || v.Kind() == reflect.Chan ||
		v.Kind() == reflect.Func || v.Kind() == reflect.UnsafePointer {
		return v // pointer-shaped: the interface holds the value itself
	}
	data := (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[1]
	return reflect.NewAt(v.Type(), data).Elem()
}

var (
	errorType         = reflect.TypeFor[error]()
	stringerType      = reflect.TypeFor[fmt.Stringer]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// methodText returns what a handler would print for v through its own
// methods (Error, String, MarshalText, MarshalJSON), and whether it has
// any. A method that panics counts as dirty output. The method is called
// through a pointer where v is addressable: boxing the value itself would
// copy it, secret bytes and all, to the heap.
func methodText(v reflect.Value) (out []string, has, panicked bool) {
	t := v.Type()
	if t.Kind() == reflect.Interface || t.NumMethod() == 0 || !v.CanInterface() ||
		v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, false, false
	}
	isErr, isStr := t.Implements(errorType), t.Implements(stringerType)
	isJSON, isText := t.Implements(jsonMarshalerType), t.Implements(textMarshalerType)
	if !isErr && !isStr && !isJSON && !isText {
		return nil, false, false
	}
	var x any
	if v.CanAddr() && t.Kind() != reflect.Pointer {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	if isErr {
		out = append(out, x.(error).Error())
	} else if isStr {
		out = append(out, x.(fmt.Stringer).String())
	}
	if isJSON {
		if b, err := x.(json.Marshaler).MarshalJSON(); err == nil {
			out = append(out, unsafe.String(unsafe.SliceData(b), len(b)))
		}
	} else if isText {
		if b, err := x.(encoding.TextMarshaler).MarshalText(); err == nil {
			out = append(out, unsafe.String(unsafe.SliceData(b), len(b)))
		}
	}
	return out, true, false
}

// dirty reports whether redaction would change v: a string or bytes that
// hold a secret, a non-zero value under a secret name, or a method whose
// output holds one.
func (w *walk) dirty(v reflect.Value, secretName bool, depth int) bool {
	if !v.IsValid() {
		return false
	}
	if w.budget--; w.budget < 0 || depth > maxDepth {
		return true
	}
	if secretName {
		return !v.IsZero()
	}
	if safeTypes[v.Type()] {
		return false
	}
	if depth > 0 && w.methodsDirty(v) {
		return true
	}
	switch v.Kind() {
	case reflect.String:
		_, changed := w.c.text(v.String())
		return changed
	case reflect.Slice, reflect.Array:
		if b, ok := bytesOf(v); ok {
			_, changed := w.c.text(unsafe.String(unsafe.SliceData(b), len(b)))
			return changed
		}
		for i := range v.Len() {
			if w.dirty(v.Index(i), false, depth+1) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			name := false
			if k.Kind() == reflect.String {
				name = w.c.keys.match(k.String())
			}
			if w.dirty(k, false, depth+1) || w.dirty(it.Value(), name, depth+1) {
				return true
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if w.dirty(v.Field(i), w.c.secretField(t.Field(i)), depth+1) {
				return true
			}
		}
	case reflect.Pointer, reflect.Interface:
		// The same depth: the top-level value's methods are the caller's
		// to call, and a pointer's are its element's too.
		return w.dirty(v.Elem(), false, depth)
	}
	return false
}

// methodsDirty reports whether v's own String, Error or Marshal methods
// print a secret (or panic).
func (w *walk) methodsDirty(v reflect.Value) bool {
	outs, has, panicked := methodText(v)
	if panicked {
		return true
	}
	if has {
		for _, s := range outs {
			if _, changed := w.c.text(s); changed {
				return true
			}
		}
	}
	return false
}

// secretField reports whether a struct field's Go or JSON name is secret.
func (c *compiled) secretField(f reflect.StructField) bool {
	if c.keys.match(f.Name) {
		return true
	}
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return tag != "" && tag != "-" && c.keys.match(tag)
}

// bytesOf returns the bytes of a []byte or [N]byte value in place.
func bytesOf(v reflect.Value) ([]byte, bool) {
	if v.Type().Elem().Kind() != reflect.Uint8 {
		return nil, false
	}
	if v.Kind() == reflect.Slice {
		return v.Bytes(), true
	}
	if v.CanAddr() {
		return unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Len()), true
	}
	return nil, false
}

var redactedBytes = []byte(secret.Redacted)

// sanitize returns a copy of v, of the same type, in which everything
// dirty would flag is changed: strings are redacted (whole under a secret
// name), bytes that hold a secret become "[REDACTED]", other values under
// a secret name and values whose methods print a secret become zero. The
// copy holds no secret, so rendering it leaves none behind.
func (w *walk) sanitize(v reflect.Value, secretName bool, depth int) reflect.Value {
	t := v.Type()
	out := reflect.New(t).Elem()
	if w.budget--; w.budget < 0 || depth > maxDepth || safeTypes[t] && !secretName {
		if !secretName && w.budget >= 0 && depth <= maxDepth {
			setField(out, v)
		}
		return out
	}
	if !secretName && depth > 0 && w.methodsDirty(v) {
		return out
	}
	switch v.Kind() {
	case reflect.String:
		s := secret.Redacted
		if !secretName || v.Len() == 0 {
			s, _ = w.c.text(v.String())
		}
		out.SetString(s)
	case reflect.Slice, reflect.Array:
		if b, ok := bytesOf(v); ok {
			if secretName && len(b) > 0 || !secretName && w.dirty(v, false, depth) {
				if v.Kind() == reflect.Slice {
					out.SetBytes(append([]byte(nil), redactedBytes...))
				} else if ob, ok := bytesOf(out); ok {
					copy(ob, redactedBytes) // as much as fits; the rest stays zero
				}
				return out
			}
			if v.Kind() == reflect.Slice && !v.IsNil() {
				out.SetBytes(append([]byte(nil), b...))
			} else {
				reflect.Copy(out, v)
			}
			return out
		}
		if v.Kind() == reflect.Slice {
			if v.IsNil() {
				return out
			}
			out.Set(reflect.MakeSlice(t, v.Len(), v.Len()))
		}
		for i := range v.Len() {
			setField(out.Index(i), w.sanitize(v.Index(i), secretName, depth+1))
		}
	case reflect.Map:
		if v.IsNil() {
			return out
		}
		out.Set(reflect.MakeMapWithSize(t, v.Len()))
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			name := secretName
			if k.Kind() == reflect.String {
				name = name || w.c.keys.match(k.String())
			}
			out.SetMapIndex(w.sanitize(k, false, depth+1), w.sanitize(it.Value(), name, depth+1))
		}
	case reflect.Struct:
		for i := range t.NumField() {
			name := secretName || w.c.secretField(t.Field(i))
			setField(out.Field(i), w.sanitize(v.Field(i), name, depth+1))
		}
	case reflect.Pointer:
		if v.IsNil() {
			return out
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(w.sanitize(v.Elem(), secretName, depth))
		out.Set(p)
	case reflect.Interface:
		if v.IsNil() {
			return out
		}
		out.Set(w.sanitize(v.Elem(), secretName, depth))
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		setField(out, v)
	default: // numbers and booleans
		if !secretName {
			setField(out, v)
		}
	}
	return out
}

// setField sets dst, which may be an unexported field of a value this
// package allocated, to v, which may have been read through one.
func setField(dst, v reflect.Value) {
	if !dst.CanSet() {
		dst = reflect.NewAt(dst.Type(), unsafe.Pointer(dst.UnsafeAddr())).Elem()
	}
	switch {
	case v.CanInterface():
		dst.Set(v)
	case v.CanAddr():
		dst.Set(reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem())
	default:
		// Read-only and not addressable: a map element reached through an
		// unexported field. Scalars copy by value; anything else stays
		// zero.
		switch v.Kind() {
		case reflect.Bool:
			dst.SetBool(v.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			dst.SetInt(v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			dst.SetUint(v.Uint())
		case reflect.Float32, reflect.Float64:
			dst.SetFloat(v.Float())
		case reflect.Complex64, reflect.Complex128:
			dst.SetComplex(v.Complex())
		}
	}
}
