package wipe

import (
	"reflect"
	"unsafe"
)

// YAMLDecoder zeroes the byte buffers a go.yaml.in/yaml/v3 *yaml.Decoder
// holds after decoding: the raw and decoded input buffers (512 and 1,536
// bytes, a small file whole), every slot of the token queue up to its
// capacity (scalar values, tag prefixes and suffixes), the current event,
// and pending comments. It reaches them by reflection because the decoder
// exports none of them, and takes d as any so that importing this package
// does not link yaml.v3 into programs that never parse YAML. It reports
// false when it does not find the layout it knows (go.mod pins the version
// it was written for); the package's tests turn that into a failure, so an
// upgrade cannot silently end the wiping.
func YAMLDecoder(d any) bool {
	v := reflect.ValueOf(d)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	dv := v.Elem().FieldByName("parser")
	if dv.Kind() != reflect.Pointer || dv.IsNil() {
		return false
	}
	pv := dv.Elem()
	yp := pv.FieldByName("parser")
	if yp.Kind() != reflect.Struct {
		return false
	}
	ok := true
	for _, name := range []string{"raw_buffer", "buffer"} {
		ok = bytesField(yp, name, true) && ok
	}
	for _, name := range []string{"head_comment", "line_comment", "foot_comment", "tail_comment", "stem_comment"} {
		bytesField(yp, name, false)
	}
	tokens := yp.FieldByName("tokens")
	if tokens.Kind() != reflect.Slice {
		return false
	}
	all := tokens.Slice(0, tokens.Cap())
	for i := 0; i < all.Len(); i++ {
		tok := all.Index(i)
		ok = bytesField(tok, "value", true) && ok
		bytesField(tok, "prefix", false)
		bytesField(tok, "suffix", false)
	}
	if ev := pv.FieldByName("event"); ev.Kind() == reflect.Struct {
		ok = bytesField(ev, "value", true) && ok
	} else {
		ok = false
	}
	return ok
}

// bytesField zeroes the whole capacity of the []byte field name of the
// addressable struct v. It reports whether the field exists with that
// type (or, when required is false, whether nothing was wrong).
func bytesField(v reflect.Value, name string, required bool) bool {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Uint8 || !f.CanAddr() {
		return !required
	}
	b := *(*[]byte)(unsafe.Pointer(f.UnsafeAddr()))
	clear(b[:cap(b)])
	return true
}
