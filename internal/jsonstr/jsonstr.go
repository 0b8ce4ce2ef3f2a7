// Package jsonstr holds the pieces of JSON text that this module's
// hand-written JSON readers share: string escapes, written the way
// encoding/json writes them and read back into buffers the caller owns,
// one escape at a time (DecodeEscape), numbers and whitespace. The log
// redactor reads JSON text that may hold a secret and must not leave a
// copy of it in memory it cannot wipe (encoding/json's decoder makes Go
// strings of everything it reads); the Vault client decodes in place in
// protected memory; the JWT verifier reads claims faster than
// encoding/json would. Each keeps its own reader: what they share is
// here.
package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendEscaped appends s escaped as encoding/json escapes string
// contents (without the quotes): '"' and '\\' with a backslash, \b \f \n
// \r \t, other control bytes and U+2028, U+2029 as \u00XX and \u2028,
// \u2029, and with html also '<', '>' and '&' as \u003c, \u003e, \u0026.
// ok is false when s is not valid UTF-8, which encoding/json replaces
// with U+FFFD and so cannot be read back.
func AppendEscaped(dst, s []byte, html bool) (out []byte, ok bool) {
	if !utf8.Valid(s) {
		return dst, false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || html && (c == '<' || c == '>' || c == '&'):
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst, true
}

// AppendUnescaped appends the text the escaped contents s of a JSON
// string stand for. ok is false for a malformed escape. A surrogate that
// is not half of a pair becomes U+FFFD, as in encoding/json.
func AppendUnescaped(dst, s []byte) (out []byte, ok bool) {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			dst = append(dst, s[i])
			i++
			continue
		}
		r, n := DecodeEscape(s[i:])
		if n == 0 {
			return dst, false
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst, true
}

// DecodeEscape decodes the escape at the start of s, which starts with
// its backslash: \" \\ \/ \b \f \n \r \t, or \uXXXX with the \uXXXX after
// it when the two are a UTF-16 surrogate pair. It returns the rune and
// the bytes the escape takes (2, 6 or 12), or n == 0 when s does not
// start with an escape JSON knows.
//
// A surrogate that is not half of a pair comes back as itself, n 6 (the
// \uXXXX after it, if any, is the next escape). A reader that follows
// encoding/json writes U+FFFD for it, which utf8.AppendRune and
// utf8.EncodeRune do on their own; a strict one refuses it
// (utf16.IsSurrogate). Every escape decodes to no more UTF-8 bytes than
// it takes, so a reader may decode in place.
//
// It takes a string or a byte slice, so that text that is a string (a
// log message) is not copied to be read.
func DecodeEscape[S ~string | ~[]byte](s S) (r rune, n int) {
	if len(s) < 2 || s[0] != '\\' {
		return 0, 0
	}
	switch c := s[1]; c {
	case '"', '\\', '/':
		return rune(c), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
	default:
		return 0, 0
	}
	r, ok := hex4(s[2:])
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if lo, ok := hex4(s[8:]); ok {
			if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
				return pair, 12
			}
		}
	}
	return r, 6
}

// hex4 reads the four hex digits at the start of s.
func hex4[S ~string | ~[]byte](s S) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
