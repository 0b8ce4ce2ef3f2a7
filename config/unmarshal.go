package config

import (
	"encoding"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

var (
	valueType       = reflect.TypeFor[secret.Value]()
	placeholderType = reflect.TypeFor[placeholder]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// Unmarshal decodes the configuration below path ("" for all of it) into
// the struct (or map) out points to, using `koanf` field tags as koanf
// does, through koanf's UnmarshalWithConf. Secret keys decode into
// secret.Value fields (and into interface values, such as those of a
// map[string]any), which then hold the Config's own cells: no copy and no
// new cell is made. Decoding a secret into any other field fails with
// ErrPlainField, and a plain value into a secret.Value field fails with
// ErrNotSecret, so neither leaks into the other. Plain fields decode as
// with koanf's own Unmarshal: weakly typed, durations from "1m30s" or
// "2d", and types that implement encoding.TextUnmarshaler from text.
func (c *Config) Unmarshal(path string, out any) error { return c.Snapshot().Unmarshal(path, out) }

// Unmarshal decodes as Config.Unmarshal does, from the snapshot's
// generation: every field of out comes from one generation.
func (sn Snapshot) Unmarshal(path string, out any) error {
	st := sn.state()
	dc := &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			secretHook(st.secrets),
			daysHook,
			mapstructure.StringToTimeDurationHookFunc(),
			textHook,
		),
		WeaklyTypedInput: true,
	}
	return st.k.UnmarshalWithConf(path, out, koanf.UnmarshalConf{DecoderConfig: dc})
}

// secretHook hands each secret key's cell to the field it decodes into,
// and keeps secrets and plain values apart.
func secretHook(secrets map[string]secret.Value) mapstructure.DecodeHookFuncValue {
	return func(from, to reflect.Value) (any, error) {
		toType := to.Type()
		if from.Type() == placeholderType {
			key := from.Interface().(placeholder).Key
			switch {
			case toType == reflect.PointerTo(valueType):
				return from.Interface(), nil // decoded again into the Value it points to
			case valueType.AssignableTo(toType):
				return secrets[key], nil
			}
			return nil, fmt.Errorf("%w: %s (declare the field as secret.Value)", ErrPlainField, key)
		}
		if (toType == valueType || toType == reflect.PointerTo(valueType)) && from.Type() != valueType {
			return nil, fmt.Errorf("%w (make its key secret with SecretKeys, or declare the field with a plain type)", ErrNotSecret)
		}
		return from.Interface(), nil
	}
}

// dayDuration matches a number of days in a duration, which koanf accepts
// ("2d12h") and time.ParseDuration does not.
var dayDuration = regexp.MustCompile(`([0-9]*\.?[0-9]+)d`)

// daysHook rewrites days as hours before a duration is parsed, exactly
// (1.5d is 36h), as koanf's Unmarshal does.
func daysHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != durationType {
		return data, nil
	}
	s := reflect.ValueOf(data).String()
	return dayDuration.ReplaceAllStringFunc(s, func(d string) string {
		r, ok := new(big.Rat).SetString(d[:len(d)-1])
		if !ok {
			return d
		}
		return r.Mul(r, big.NewRat(24, 1)).FloatString(9) + "h"
	}), nil
}

// textHook decodes text into a field whose type implements
// encoding.TextUnmarshaler. A string type of the source's own that
// marshals to text gives that text.
func textHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String {
		return data, nil
	}
	target := reflect.New(to)
	u, ok := target.Interface().(encoding.TextUnmarshaler)
	if !ok {
		return data, nil
	}
	text := []byte(reflect.ValueOf(data).String())
	if m, ok := data.(encoding.TextMarshaler); ok && from != reflect.TypeFor[string]() {
		var err error
		if text, err = m.MarshalText(); err != nil {
			return nil, err
		}
	}
	if err := u.UnmarshalText(text); err != nil {
		return nil, err
	}
	return target.Elem().Interface(), nil
}
