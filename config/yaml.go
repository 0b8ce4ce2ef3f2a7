package config

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"unsafe"

	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// YAML returns the koanf.Parser that Load uses for .yaml and .yml files.
// It decodes exactly as koanf's YAML parser does (go.yaml.in/yaml/v3, the
// first document of the input), and then wipes the decoder's own buffers:
// the decoder copies its input into a raw buffer (512 bytes) and a decoded
// buffer (1,536 bytes) and keeps the scalars it scanned last in a token
// queue, and it frees all of them without wiping. A small file sits in
// those buffers whole. Use it with Source for YAML that holds secrets.
//
// What the decoder frees while it scans (a scalar's bytes once its token
// is consumed) it cannot be made to wipe; see the README's proof section.
func YAML() koanf.Parser { return yamlParser{} }

type yamlParser struct{}

func (yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	return decodeYAML(bytes.NewReader(b))
}

func (yamlParser) Marshal(m map[string]any) ([]byte, error) { return yaml.Marshal(m) }

// decodeYAML decodes the first document r holds and wipes the decoder.
func decodeYAML(r io.Reader) (map[string]any, error) {
	d := yaml.NewDecoder(r)
	var out map[string]any
	err := d.Decode(&out)
	wipeYAMLDecoder(d)
	if errors.Is(err, io.EOF) {
		// No document at all: yaml.Unmarshal's answer is an empty map.
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// wipeYAMLDecoder zeroes the byte buffers a yaml.Decoder holds: the raw
// and decoded input buffers, every slot of the token queue up to its
// capacity (scalar values, tag prefixes and suffixes), the current event,
// and pending comments. It reaches them by reflection because the decoder
// exports none of them; go.mod pins the version it was written for, and
// it reports false when it does not find the layout it knows, which the
// package's tests turn into a failure so that an upgrade cannot silently
// end the wiping.
func wipeYAMLDecoder(d *yaml.Decoder) bool {
	dv := reflect.ValueOf(d).Elem().FieldByName("parser")
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
		ok = wipeBytesField(yp, name, true) && ok
	}
	for _, name := range []string{"head_comment", "line_comment", "foot_comment", "tail_comment", "stem_comment"} {
		wipeBytesField(yp, name, false)
	}
	tokens := yp.FieldByName("tokens")
	if tokens.Kind() != reflect.Slice {
		return false
	}
	all := tokens.Slice(0, tokens.Cap())
	for i := 0; i < all.Len(); i++ {
		tok := all.Index(i)
		ok = wipeBytesField(tok, "value", true) && ok
		wipeBytesField(tok, "prefix", false)
		wipeBytesField(tok, "suffix", false)
	}
	if ev := pv.FieldByName("event"); ev.Kind() == reflect.Struct {
		ok = wipeBytesField(ev, "value", true) && ok
	} else {
		ok = false
	}
	return ok
}

// wipeBytesField zeroes the whole capacity of the []byte field name of the
// addressable struct v. It reports whether the field exists with that type
// (or, when required is false, whether nothing was wrong).
func wipeBytesField(v reflect.Value, name string, required bool) bool {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Uint8 || !f.CanAddr() {
		return !required
	}
	b := *(*[]byte)(unsafe.Pointer(f.UnsafeAddr()))
	clear(b[:cap(b)])
	return true
}
