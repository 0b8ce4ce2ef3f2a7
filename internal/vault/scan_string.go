package vault

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/secretmem/secretmem/internal/jsonstr"
)

// Strings are decoded where they lie: the write cursor w trails the read
// cursor s.i, since no escape decodes to more bytes than it takes.

// str decodes the string at the cursor in place and returns it. The bytes
// between the decoded end and the closing quote (left over from escapes)
// are wiped.
func (s *scanner) str() ([]byte, error) {
	s.i++ // '"'
	start, w := s.i, s.i
	for {
		if s.i >= len(s.b) {
			return nil, s.fail("unterminated string")
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:w:w]
			clear(s.b[w:s.i])
			s.i++
			return out, nil
		case c < 0x20:
			return nil, s.fail("control byte in a string")
		case c != '\\':
			s.b[w] = c
			w++
			s.i++
			continue
		}
		n, err := s.escape(w)
		if err != nil {
			return nil, err
		}
		w += n
	}
}

// escape decodes the escape at the cursor into s.b[w:] and returns how
// many bytes it wrote. Unlike encoding/json, which writes U+FFFD for
// half a surrogate pair, it refuses one: Vault's encoder never writes
// one, and a secret must come back as it was stored.
func (s *scanner) escape(w int) (int, error) {
	r, n := jsonstr.DecodeEscape(s.b[s.i:])
	switch {
	case n > 0 && utf16.IsSurrogate(r):
		s.i += n
		return 0, s.fail("half of a surrogate pair in a \\u escape")
	case n > 0:
		s.i += n
		return utf8.EncodeRune(s.b[w:], r), nil
	case s.i+1 >= len(s.b):
		return 0, s.fail("unterminated escape")
	case s.b[s.i+1] == 'u':
		return 0, s.fail("bad \\u escape")
	}
	return 0, s.fail("unknown escape")
}
