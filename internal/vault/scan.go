package vault

import (
	"fmt"
	"time"

	"github.com/secretmem/secretmem/internal/jsonstr"
)

// A scanner walks JSON text that sits in protected memory without copying
// any of it: a string is decoded in place (its decoded form is never
// longer than its encoding, so the write cursor never overtakes the read
// cursor) and handed out as a sub-slice of the same memory, from which
// the caller copies a secret straight into its cell.
//
// It refuses, with ErrMalformed: anything that is not RFC 8259 JSON,
// control bytes inside strings, escapes other than JSON's, a \u escape
// that is half of a surrogate pair, values nested deeper than maxDepth,
// and text after the top-level value. Bytes of 0x80 and above pass
// through unchecked: Vault encodes with Go's encoding/json, which never
// emits invalid UTF-8.
//
// Error messages give a byte offset and what was expected, never the
// bytes found: a malformed response may break off inside a secret.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds nesting: Vault's responses nest four levels; a KV
// secret written by hand may nest more, but not this deep.
const maxDepth = 32

type kind uint8

const (
	kindString kind = iota + 1
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

func (k kind) String() string {
	return [...]string{"", "a string", "a number", "a boolean", "null", "an object", "a list"}[k]
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, s.i)
}

func (s *scanner) ws() { s.i = jsonstr.SkipSpace(s.b, s.i) }

// next returns the kind of the value at the cursor, after whitespace.
func (s *scanner) next() (kind, error) {
	s.ws()
	if s.i >= len(s.b) {
		return 0, s.fail("unexpected end of the body")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return kindString, nil
	case c == '{':
		return kindObject, nil
	case c == '[':
		return kindArray, nil
	case c == 't' || c == 'f':
		return kindBool, nil
	case c == 'n':
		return kindNull, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return kindNumber, nil
	}
	return 0, s.fail("expected a value")
}

// top checks that the body is one object and calls member for each of its
// members; it fails if anything but whitespace follows the object.
func (s *scanner) top(member func(name []byte) error) error {
	if k, err := s.next(); err != nil || k != kindObject {
		if err == nil {
			err = s.fail("expected an object")
		}
		return err
	}
	if err := s.object(member); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("text after the JSON value")
	}
	return nil
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.fail(fmt.Sprintf("values nested deeper than %d levels", maxDepth))
	}
	return nil
}

// object calls member for each member of the object at the cursor, with
// the member's name decoded in place. member must consume the value, by
// reading it or calling skip.
func (s *scanner) object(member func(name []byte) error) error {
	return s.sequence('}', func() error {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a member name")
		}
		name, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		return s.consume(func() error { return member(name) })
	})
}

// array calls elem for each element of the array at the cursor; elem must
// consume the element.
func (s *scanner) array(elem func() error) error {
	return s.sequence(']', func() error { return s.consume(elem) })
}

// sequence reads the object or array at the cursor, ending with end,
// calling item at the start of each item.
func (s *scanner) sequence(end byte, item func() error) error {
	if err := s.enter(); err != nil {
		return err
	}
	open, what := byte('{'), "expected an object"
	if end == ']' {
		open, what = '[', "expected a list"
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != open {
		return s.fail(what)
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := item(); err != nil {
			return err
		}
		s.ws()
		switch {
		case s.i >= len(s.b):
			return s.fail("unexpected end of the body")
		case s.b[s.i] == ',':
			s.i++
		case s.b[s.i] == end:
			s.i++
			s.depth--
			return nil
		default:
			return s.fail("expected ',' or '" + string(end) + "'")
		}
	}
}

// consume calls read, and skips the value if read left it where it was.
func (s *scanner) consume(read func() error) error {
	at := s.i
	if err := read(); err != nil {
		return err
	}
	if s.i == at {
		return s.skip()
	}
	return nil
}

// skip consumes the value at the cursor without keeping anything. Strings
// are still decoded in place (and so checked); nothing leaves the buffer.
func (s *scanner) skip() error {
	k, err := s.next()
	if err != nil {
		return err
	}
	switch k {
	case kindObject:
		return s.object(func([]byte) error { return s.skip() })
	case kindArray:
		return s.array(s.skip)
	}
	_, _, err = s.scalar()
	return err
}

// scalar consumes the string, number, boolean or null at the cursor and
// returns its kind and its bytes: a string decoded in place, anything
// else as its JSON text.
func (s *scanner) scalar() (kind, []byte, error) {
	k, err := s.next()
	if err != nil {
		return 0, nil, err
	}
	switch k {
	case kindString:
		b, err := s.str()
		return k, b, err
	case kindNumber:
		b, err := s.number()
		return k, b, err
	case kindBool, kindNull:
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				b := s.b[s.i : s.i+len(lit)]
				s.i += len(lit)
				return k, b, nil
			}
		}
		return 0, nil, s.fail("expected true, false or null")
	}
	return 0, nil, s.fail("expected a string, number, boolean or null")
}

// number consumes a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	n, expected := jsonstr.Number(s.b[s.i:])
	s.i += n
	if expected != "" {
		return nil, s.fail("expected " + expected)
	}
	return s.b[start:s.i], nil
}

// integer consumes a number that must be a whole number fitting an int64
// (lease durations, TTLs, versions).
func (s *scanner) integer() (int64, error) {
	k, b, err := s.scalar()
	if err != nil {
		return 0, err
	}
	if k != kindNumber {
		return 0, s.fail("expected a number")
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, s.fail("expected a whole number")
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, s.fail("number out of range")
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// maxSeconds bounds a TTL or lease duration: about 136 years, far past
// any Vault grants, and small enough that twice it in nanoseconds (a due
// time two thirds in) still fits an int64.
const maxSeconds = 1 << 32

// seconds consumes a TTL or lease duration, a whole number of seconds. A
// negative one, or one out of range, would wrap into a token that never
// expires or a lease always due.
func (s *scanner) seconds() (time.Duration, error) {
	n, err := s.integer()
	if err != nil {
		return 0, err
	}
	if n < 0 || n > maxSeconds {
		return 0, s.fail("a duration out of range")
	}
	return time.Duration(n) * time.Second, nil
}

// boolean consumes true or false.
func (s *scanner) boolean() (bool, error) {
	k, b, err := s.scalar()
	if err != nil {
		return false, err
	}
	if k != kindBool {
		return false, s.fail("expected true or false")
	}
	return b[0] == 't', nil
}

// text consumes a string that is not secret (a lease ID, an error
// message, a member name) and returns a heap copy; null reads as "".
func (s *scanner) text() (string, error) {
	k, b, err := s.scalar()
	if err != nil {
		return "", err
	}
	switch k {
	case kindString:
		return string(b), nil
	case kindNull:
		return "", nil
	}
	return "", s.fail("expected a string")
}
