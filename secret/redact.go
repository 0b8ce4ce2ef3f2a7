package secret

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Redacted is what every printing path shows instead of a secret.
const Redacted = "[REDACTED]"

func (v Value) redacted() string {
	if v.h != nil && v.h.redacted != "" {
		return v.h.redacted
	}
	return Redacted
}

// String returns "[REDACTED]" (or "[REDACTED label]").
func (v Value) String() string { return v.redacted() }

// GoString is used by %#v: secret.Value([REDACTED]).
func (v Value) GoString() string { return "secret.Value(" + v.redacted() + ")" }

// Format redacts for every verb and flag, %x and %#v included. Width and
// the '-' flag pad as they would for a string, so tables stay aligned.
func (v Value) Format(f fmt.State, verb rune) {
	s := v.redacted()
	switch {
	case verb == 'v' && f.Flag('#'):
		s = v.GoString()
	case verb == 'q':
		s = strconv.Quote(s)
	}
	if w, ok := f.Width(); ok && w > len(s) {
		pad := make([]byte, w-len(s))
		for i := range pad {
			pad[i] = ' '
		}
		if f.Flag('-') {
			s += string(pad)
		} else {
			s = string(pad) + s
		}
	}
	_, _ = io.WriteString(f, s)
}

// LogValue makes slog print the redacted form.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.redacted()) }

// MarshalJSON encodes the redacted form as a JSON string.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.redacted()) }

// MarshalText encodes the redacted form; encoding/xml, TOML and YAML
// encoders use it.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.redacted()), nil }

// UnmarshalText puts text into a new pooled cell and wipes text, so that
// configuration structs decoded by encoding/json, TOML or YAML libraries
// can hold Value fields. A cell the Value held before is destroyed. The
// decoder may have made copies of its own input before calling this; wipe
// the input buffer you gave it.
func (v *Value) UnmarshalText(text []byte) error {
	nv, err := New(text)
	if err != nil {
		return err
	}
	v.Destroy()
	*v = nv
	return nil
}
