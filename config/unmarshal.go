package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

var valueType = reflect.TypeFor[secret.Value]()

// Unmarshal decodes the configuration below path ("" for all of it) into
// the struct (or map) out points to, using `koanf` field tags as koanf
// does. Secret keys decode into secret.Value fields, which then hold the
// Config's own cells; decoding a secret into a string or []byte field
// fails with ErrPlainField instead of leaking it.
//
// koanf's own Unmarshal cannot carry cells: it deep-copies values with
// copystructure, which drops a Value's unexported handle. So each secret
// travels through koanf as a random one-time token, which mapstructure
// hands to (*secret.Value).UnmarshalText; the token cells are then
// swapped for the real ones.
func (c *Config) Unmarshal(path string, out any) error {
	st := c.state()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	prefix := "\x00secretmem-token:" + hex.EncodeToString(nonce[:]) + ":"

	flat := st.k.All()
	keys := make([]string, 0, len(st.secrets))
	for key := range st.secrets {
		if _, ok := flat[key]; ok {
			flat[key] = prefix + strconv.Itoa(len(keys))
			keys = append(keys, key)
		}
	}
	tk := koanf.New(".")
	if err := tk.Load(mapProvider(maps.Unflatten(flat, ".")), nil); err != nil {
		return err
	}
	err := tk.Unmarshal(path, out)
	// Replace tokens even after a failed decode, so no token cell is left.
	fx := fixer{prefix: prefix, keys: keys, secrets: st.secrets, seen: make(map[uintptr]bool)}
	fx.fix(reflect.ValueOf(out))
	return errors.Join(err, fx.err)
}

type fixer struct {
	prefix  string
	keys    []string
	secrets map[string]secret.Value
	seen    map[uintptr]bool
	err     error
}

// key returns the secret key a token names, or "".
func (f *fixer) key(token []byte) string {
	rest, ok := bytes.CutPrefix(token, []byte(f.prefix))
	if !ok {
		return ""
	}
	i, err := strconv.Atoi(string(rest))
	if err != nil || i < 0 || i >= len(f.keys) {
		return ""
	}
	return f.keys[i]
}

func (f *fixer) plainField(key string) {
	if f.err == nil {
		f.err = fmt.Errorf("%w: %s (declare the field as secret.Value)", ErrPlainField, key)
	}
}

// fix walks v and puts the real cell wherever a token arrived.
func (f *fixer) fix(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || f.seen[v.Pointer()] {
			return
		}
		f.seen[v.Pointer()] = true
		f.fix(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.String {
			if key := f.key([]byte(e.String())); key != "" && v.CanSet() {
				v.Set(reflect.ValueOf(f.secrets[key]))
			}
			return
		}
		// Interface contents are not addressable: fix a copy and put it back.
		cp := reflect.New(e.Type()).Elem()
		cp.Set(e)
		f.fix(cp)
		if v.CanSet() {
			v.Set(cp)
		}
	case reflect.Struct:
		if v.Type() == valueType {
			f.fixValue(v)
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fix(v.Field(i))
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var updates []kv
		for iter.Next() {
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(iter.Value())
			f.fix(cp)
			updates = append(updates, kv{iter.Key(), cp})
		}
		for _, u := range updates {
			v.SetMapIndex(u.k, u.v)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if key := f.key(v.Bytes()); key != "" {
				f.plainField(key)
				if v.CanSet() {
					v.SetZero()
				}
			}
			return
		}
		for i := range v.Len() {
			f.fix(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fix(v.Index(i))
		}
	case reflect.String:
		if strings.HasPrefix(v.String(), f.prefix) {
			if key := f.key([]byte(v.String())); key != "" {
				f.plainField(key)
				if v.CanSet() {
					v.SetString("")
				}
			}
		}
	}
}

// fixValue swaps a token cell made by UnmarshalText for the real cell.
// It compares with Equal, which does not consume a volatile cell the
// caller may have put into the struct before.
func (f *fixer) fixValue(v reflect.Value) {
	if !v.CanInterface() {
		return
	}
	tv := v.Interface().(secret.Value)
	n := tv.Len() - len(f.prefix)
	if n < 1 || n > 19 {
		return
	}
	for i, key := range f.keys {
		idx := strconv.Itoa(i)
		if len(idx) != n || !tv.Equal([]byte(f.prefix+idx)) {
			continue
		}
		if v.CanSet() {
			tv.Destroy()
			v.Set(reflect.ValueOf(f.secrets[key]))
		}
		return
	}
}
