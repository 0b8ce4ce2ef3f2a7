package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/secretmem/secretmem/internal/wipe"
)

// readJSON parses JSON as koanf's parser does (encoding/json into a map),
// but lets encoding/json hand over each value's text, a slice of the input
// in protected scratch memory, before it becomes a Go value. A secret goes
// from there into its cell: a number keeps every digit as written
// (12345678, 00.50, 1e400), a string is unescaped straight into the cell,
// and no heap copy is made. A plain key gets the value encoding/json
// decodes it to (numbers as float64), as koanf would.
func readJSON(l *layer, data []byte) error {
	var top map[string]jsonText
	if err := json.Unmarshal(data, &top); err != nil {
		return syntaxError(l.name, data, err)
	}
	w := jsonWalker{l: l, data: data}
	return w.object(loc{}, top, func() int { return 0 }, 0)
}

// jsonText receives a value's text: encoding/json passes an Unmarshaler
// a slice of its input, not a copy.
type jsonText struct{ b []byte }

// UnmarshalJSON keeps the slice.
func (j *jsonText) UnmarshalJSON(b []byte) error {
	j.b = b
	return nil
}

type jsonWalker struct {
	l    *layer
	data []byte
}

// maxJSONDepth bounds nested objects: each level is scanned again.
const maxJSONDepth = 100

// object walks the decoded object m found at at; parentLine says where
// it starts, when an error needs it.
func (w *jsonWalker) object(at loc, m map[string]jsonText, parentLine func() int, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("%w: %s: objects nested more than %d deep", ErrSyntax, w.l.at(parentLine()), maxJSONDepth)
	}
	c := &w.l.s.rules
	for name, v := range m {
		p := at.child(name)
		key := p.key
		b := bytes.TrimSpace(v.b)
		if len(b) == 0 {
			continue
		}
		// Where the value is, for what an error or a reference needs;
		// counting lines for every value would cost a pass per value.
		line := func() int { return w.line(b) }
		switch b[0] {
		case '{':
			var sub map[string]jsonText
			if err := json.Unmarshal(b, &sub); err != nil {
				return syntaxError(w.l.name, w.data, err)
			}
			if len(sub) == 0 {
				w.l.plain(p, map[string]any{})
				continue
			}
			if err := w.object(p, sub, line, depth+1); err != nil {
				return err
			}
			continue
		case '[':
			if c.secret(key) {
				return w.l.listUnderSecret(key, line())
			}
			list, err := w.decode(b)
			if err != nil {
				return err
			}
			if w.l.checkList(key, list, 0) != nil {
				return w.l.checkList(key, list, line())
			}
			w.l.plain(p, list)
			continue
		case 'n':
			if err := w.l.null(p, parentLine()); err != nil {
				return err
			}
			continue
		case '"':
			if c.references && mayBeReference(b[1:]) {
				var s string
				if err := json.Unmarshal(b, &s); err != nil {
					return syntaxError(w.l.name, w.data, err)
				}
				kind, target := parseReference(s)
				if kind != plainValue {
					w.l.ref(p, kind, target, line())
					continue
				}
				if c.secret(key) {
					wipe.String(s)
				}
			}
			if c.secret(key) {
				inner := b[1 : len(b)-1]
				if err := w.l.secretFill(p, unescapedLen(inner), func(dst []byte) { unescape(dst, inner) }, 0); err != nil {
					return err
				}
				continue
			}
		default: // a number, true or false
			if c.secret(key) {
				if err := w.l.secretBytes(p, b, 0); err != nil {
					return err
				}
				continue
			}
		}
		x, err := w.decode(b)
		if err != nil {
			return err
		}
		w.l.plain(p, x)
	}
	return nil
}

// decode decodes a plain value as koanf's parser would. The common
// scalars take encoding/json's own short cuts without a decoder: a string
// without escapes that is valid UTF-8 is its bytes, a number is
// strconv.ParseFloat's float64, true, false and null are themselves.
// Anything else (escapes, lists, numbers out of range) goes through
// encoding/json, errors included.
func (w *jsonWalker) decode(b []byte) (any, error) {
	switch b[0] {
	case '"':
		inner := b[1 : len(b)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '[', '{':
	default:
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f, nil
		}
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, syntaxError(w.l.name, w.data, err)
	}
	return x, nil
}

// line is the line of the input b, a slice of it, starts on.
func (w *jsonWalker) line(b []byte) int {
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(w.data)))
	if len(b) == 0 || off > uintptr(len(w.data)) {
		return 0
	}
	return lineAt(w.data, int64(off))
}

// unescapedLen is the length of the JSON string body s (between its
// quotes, already validated) once unescaped.
func unescapedLen(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			n++
			i++
			continue
		}
		if s[i+1] != 'u' {
			n++
			i += 2
			continue
		}
		r, size := escapedRune(s[i:])
		n += utf8.RuneLen(r)
		i += size
	}
	return n
}

// unescape writes the JSON string body s, unescaped, into dst, which is
// unescapedLen(s) long. Bytes that are not valid UTF-8 are kept as they
// are: encoding/json would replace them with U+FFFD, which would change
// the secret. A lone surrogate escape becomes U+FFFD, as in encoding/json.
func unescape(dst, s []byte) {
	j := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst[j] = c
			j++
			i++
			continue
		}
		switch s[i+1] {
		case 'u':
			r, size := escapedRune(s[i:])
			j += utf8.EncodeRune(dst[j:], r)
			i += size
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		default: // \n \r \t, and \" \\ \/ for themselves
			c = unescapeControl(s[i+1])
		}
		dst[j] = c
		j++
		i += 2
	}
}

// escapedRune decodes the \uXXXX escape at the start of s, with the
// \uXXXX that completes a surrogate pair, and returns the rune and the
// bytes read.
func escapedRune(s []byte) (rune, int) {
	r := hex4(s[2:6])
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if pair := utf16.DecodeRune(r, hex4(s[8:12])); pair != utf8.RuneError {
			return pair, 12
		}
	}
	return utf8.RuneError, 6
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
