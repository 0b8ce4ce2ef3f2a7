package vault

import (
	"unicode/utf16"
	"unicode/utf8"
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
// many bytes it wrote.
func (s *scanner) escape(w int) (int, error) {
	if s.i+1 >= len(s.b) {
		return 0, s.fail("unterminated escape")
	}
	var c byte
	switch s.b[s.i+1] {
	case '"', '\\', '/':
		c = s.b[s.i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		return s.unicode(w)
	default:
		return 0, s.fail("unknown escape")
	}
	s.b[w] = c
	s.i += 2
	return 1, nil
}

// unicode decodes \uXXXX (or a surrogate pair of two) at the cursor.
func (s *scanner) unicode(w int) (int, error) {
	r, ok := s.hex4(s.i + 2)
	if !ok {
		return 0, s.fail("bad \\u escape")
	}
	s.i += 6
	if utf16.IsSurrogate(r) {
		lo, ok := rune(-1), false
		if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
			lo, ok = s.hex4(s.i + 2)
		}
		r = utf16.DecodeRune(r, lo)
		if !ok || r == utf8.RuneError {
			return 0, s.fail("half of a surrogate pair in a \\u escape")
		}
		s.i += 6
	}
	return utf8.EncodeRune(s.b[w:], r), nil
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
