package fingerprint

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"

	"github.com/secretmem/secretmem/internal/jsonstr"
)

// A form is a way text can spell a secret's bytes. Each registered secret
// gets an entry per form that differs from the plain one, so one scan of
// a string finds the secret however a handler, a marshaller or careless
// code encoded it: JSON handlers print []byte as base64, key dumps use
// hex, and JSON text escapes quotes, backslashes, control characters and
// (by default) '<', '>' and '&'. Each form decodes back to the plaintext,
// so a candidate is still confirmed against the live cell itself.
type form uint8

const (
	formPlain form = iota
	formUpper      // upper-cased, for secrets with lower-case letters and no upper-case ones
	formLower      // lower-cased, the other way round
	formHexLower
	formHexUpper
	formBase64    // standard alphabet, no padding (the padded form contains it)
	formBase64URL // URL alphabet, no padding
	formJSON      // JSON string contents as slog and SetEscapeHTML(false) write them
	formJSONHTML  // as json.Marshal writes them
	// Byte lists, as fmt and encoding/json print byte slices and arrays
	// that careless code formats itself: "109 49 50" (%v), "109,49,50"
	// (JSON of a byte array or []int), "6d 31 32" (% x) and
	// "0x6d, 0x31, 0x32" (%#v).
	formDecimalSpace
	formDecimalComma
	formHexSpace
	formGoHex
	numForms
)

// list is how a byte-list form writes each byte: the separator
// before every byte but the first, the prefix, and the base.
func (f form) list() (sep, prefix string, base int) {
	switch f {
	case formDecimalSpace:
		return " ", "", 10
	case formDecimalComma:
		return ",", "", 10
	case formHexSpace:
		return " ", "", 16
	case formGoHex:
		return ", ", "0x", 16
	}
	return "", "", 0
}

// encode appends form f of the plaintext p to dst. ok is false when the
// form does not apply to p or spells it as an earlier form does.
func (f form) encode(dst, p []byte) (out []byte, ok bool) {
	start := len(dst)
	if sep, prefix, base := f.list(); base != 0 {
		// Written by index into room made once: Add spells every secret
		// in each list form, and appending byte by byte cost as much as
		// all the other forms together.
		digits := 3
		if base == 16 {
			digits = 2
		}
		dst = slices.Grow(dst, len(p)*(len(sep)+len(prefix)+digits))
		b := dst[start:cap(dst)]
		n := 0
		for i, c := range p {
			if i > 0 {
				n += copy(b[n:], sep)
			}
			n += copy(b[n:], prefix)
			switch {
			case f == formHexSpace: // % x pads to two digits
				b[n], b[n+1] = hexDigits[c>>4], hexDigits[c&15]
				n += 2
			case base == 16 && c < 16:
				b[n] = hexDigits[c]
				n++
			case base == 16:
				b[n], b[n+1] = hexDigits[c>>4], hexDigits[c&15]
				n += 2
			default:
				d := &decimals[c]
				n += copy(b[n:], d.b[:d.n])
			}
		}
		dst = dst[:start+n]
		return dst, true
	}
	switch f {
	case formPlain:
		return append(dst, p...), true
	case formUpper, formLower:
		lower, upper := letterCases(p)
		if f == formUpper && (!lower || upper) || f == formLower && (!upper || lower) {
			return dst, false
		}
		for _, c := range p {
			if f == formUpper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if f == formLower && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst, true
	case formHexLower, formHexUpper:
		dst = hex.AppendEncode(dst, p)
		if f == formHexUpper {
			letters := false
			for i := start; i < len(dst); i++ {
				if c := dst[i]; 'a' <= c && c <= 'f' {
					dst[i] = c - ('a' - 'A')
					letters = true
				}
			}
			if !letters {
				clear(dst[start:])
				return dst[:start], false
			}
		}
		return dst, true
	case formBase64:
		return base64.RawStdEncoding.AppendEncode(dst, p), true
	case formBase64URL:
		dst = base64.RawURLEncoding.AppendEncode(dst, p)
		for _, c := range dst[start:] {
			if c == '-' || c == '_' {
				return dst, true
			}
		}
		clear(dst[start:])
		return dst[:start], false
	case formJSON, formJSONHTML:
		if !needsEscape(p, f == formJSONHTML) {
			return dst, false // the plain form already covers it
		}
		dst, ok = jsonstr.AppendEscaped(dst, p, f == formJSONHTML)
		if !ok || len(dst)-start == len(p) {
			// Nothing escaped: the plain form already covers it. For
			// formJSONHTML the check below drops a spelling equal to
			// formJSON's.
			clear(dst[start:])
			return dst[:start], false
		}
		if f == formJSONHTML {
			html := false
			for _, c := range p {
				if c == '<' || c == '>' || c == '&' {
					html = true
				}
			}
			if !html {
				clear(dst[start:])
				return dst[:start], false
			}
		}
		return dst, true
	}
	return dst, false
}

const hexDigits = "0123456789abcdef"

// decimals holds every byte value in decimal, for the list forms: Add
// spells each secret in them, and strconv costs several times more.
var decimals = func() (t [256]struct {
	b [3]byte
	n uint8
}) {
	for c := range 256 {
		t[c].n = uint8(copy(t[c].b[:], strconv.Itoa(c)))
	}
	return t
}()

// decodeList appends the bytes of a byte list c in the form whose
// separator, prefix and base these are.
func decodeList(dst, c []byte, sep, prefix string, base int) ([]byte, bool) {
	for i := 0; len(c) > 0; i++ {
		if i > 0 {
			if !bytes.HasPrefix(c, []byte(sep)) {
				return dst, false
			}
			c = c[len(sep):]
		}
		if !bytes.HasPrefix(c, []byte(prefix)) {
			return dst, false
		}
		c = c[len(prefix):]
		n := 0
		v := 0
		for n < len(c) && n < 3 {
			d := digitValue(c[n])
			if d < 0 || d >= base {
				break
			}
			v = v*base + d
			n++
		}
		if n == 0 || v > 255 {
			return dst, false
		}
		dst = append(dst, byte(v))
		c = c[n:]
	}
	return dst, true
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// decode appends the plaintext that candidate, spelled in form f, stands
// for. ok is false when it does not decode.
func (f form) decode(dst, c []byte) (out []byte, ok bool) {
	if sep, prefix, base := f.list(); base != 0 {
		return decodeList(dst, c, sep, prefix, base)
	}
	switch f {
	case formPlain:
		return append(dst, c...), true
	case formUpper, formLower:
		for _, b := range c {
			if f == formUpper && 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			} else if f == formLower && 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			dst = append(dst, b)
		}
		return dst, true
	case formHexLower, formHexUpper:
		out, err := hex.AppendDecode(dst, c)
		return out, err == nil
	case formBase64:
		out, err := base64.RawStdEncoding.AppendDecode(dst, c)
		return out, err == nil
	case formBase64URL:
		out, err := base64.RawURLEncoding.AppendDecode(dst, c)
		return out, err == nil
	case formJSON, formJSONHTML:
		return jsonstr.AppendUnescaped(dst, c)
	}
	return dst, false
}

// needsEscape reports whether JSON escapes some byte of p: a quote, a
// backslash, a control byte, a byte outside ASCII (U+2028, U+2029 and
// invalid UTF-8), and with html '<', '>' and '&'.
func needsEscape(p []byte, html bool) bool {
	for _, c := range p {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || html && (c == '<' || c == '>' || c == '&') {
			return true
		}
	}
	return false
}

func letterCases(p []byte) (lower, upper bool) {
	for _, c := range p {
		lower = lower || 'a' <= c && c <= 'z'
		upper = upper || 'A' <= c && c <= 'Z'
	}
	return lower, upper
}

// confirmSpelled asks e's cell whether candidate, spelled in e's form, is
// its secret. The decoded plaintext lives in a pooled heap buffer that is
// wiped before it goes back: not on the stack, which the runtime copies
// (and frees unwiped) when it grows.
func confirmSpelled(e *entry, candidate []byte) bool {
	if e.form == formPlain {
		return e.confirm(candidate)
	}
	bp := decodePool.Get().(*[]byte)
	if cap(*bp) < len(candidate) {
		*bp = make([]byte, 0, len(candidate))
	}
	p, ok := e.form.decode((*bp)[:0], candidate)
	ok = ok && e.confirm(p)
	wipeBytes(p)
	decodePool.Put(bp)
	return ok
}

// decodePool holds the buffers confirmSpelled decodes into; every one is
// wiped before it is put back. Decoding never grows past the candidate's
// length, so a buffer never leaves a copy behind by growing.
var decodePool = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// wipeBytes zeroes b. It is not inlined, so the stores cannot be dropped
// as dead.
//
//go:noinline
func wipeBytes(b []byte) { clear(b) }
