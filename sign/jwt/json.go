package jwt

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/secretmem/secretmem/internal/jsonstr"
)

// A small, strict JSON reader for the two objects of a token, header and
// claims. encoding/json takes 3 to 10 µs for a typical claim set on this
// project's machine, more than the whole verification may cost; this
// reads the members a verifier needs in one pass, checks that the rest is
// valid JSON (RFC 8259) without building it, and refuses duplicate
// members, which different JSON parsers resolve differently. Custom
// claims are decoded with encoding/json on demand (Claims.Decode).

// errJSON is wrapped by ErrMalformed; its text says where, never what.
var errJSON = errors.New("not a valid JSON object")

// maxDepth bounds nested arrays and objects in a skipped value.
const maxDepth = 32

type reader struct {
	b   []byte
	i   int
	out []byte // decoded strings are appended here; its capacity never grows
}

func (r *reader) ws() { r.i = jsonstr.SkipSpace(r.b, r.i) }

func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *reader) expect(c byte) bool {
	if r.peek() != c {
		return false
	}
	r.i++
	return true
}

// object calls member for each member of an object with the index in
// names of the member's decoded name, or -1 for any other name; member
// reads the value. (An index rather than the name: a slice handed to a
// function value escapes, and with it the reader.)
func (r *reader) object(names []string, member func(i int) error) error {
	if !r.expect('{') {
		return errJSON
	}
	if r.expect('}') {
		return r.end()
	}
	for {
		if r.peek() != '"' {
			return errJSON
		}
		// The name is decoded into out and dropped from it, so that out
		// keeps only the values a member keeps.
		mark := len(r.out)
		name, err := r.str()
		if err != nil {
			return err
		}
		i := -1
		if len(name) <= 4 { // every name the verifier reads is that short
			for j, n := range names {
				if string(name) == n {
					i = j
					break
				}
			}
		}
		r.out = r.out[:mark]
		if !r.expect(':') {
			return errJSON
		}
		if err := member(i); err != nil {
			return err
		}
		if r.expect(',') {
			continue
		}
		if r.expect('}') {
			return r.end()
		}
		return errJSON
	}
}

func (r *reader) end() error {
	r.ws()
	if r.i != len(r.b) {
		return errJSON
	}
	return nil
}

// str reads a string and returns it decoded, in r.out.
func (r *reader) str() ([]byte, error) {
	if !r.expect('"') {
		return nil, errJSON
	}
	start := len(r.out)
	ascii := true
	for {
		j := r.i
		for j < len(r.b) {
			c := r.b[j]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			if c >= 0x80 {
				ascii = false
			}
			j++
		}
		// out has room for every input byte: this never reallocates.
		r.out = append(r.out, r.b[r.i:j]...)
		r.i = j
		if j == len(r.b) {
			return nil, errJSON
		}
		switch r.b[j] {
		case '"':
			r.i++
			s := r.out[start:]
			if !ascii && !utf8.Valid(s) {
				return nil, errJSON
			}
			return s, nil
		case '\\':
			// An escape may decode to any rune (or a lone surrogate's
			// replacement): check the whole string.
			ascii = false
			if err := r.escape(); err != nil {
				return nil, err
			}
		default:
			return nil, errJSON // a control character
		}
	}
}

// escape decodes the escape at the cursor into out. A surrogate that is
// not half of a pair becomes U+FFFD, as in encoding/json, which decodes
// the custom claims: both must read a token's text alike.
func (r *reader) escape() error {
	c, n := jsonstr.DecodeEscape(r.b[r.i:])
	if n == 0 {
		return errJSON
	}
	r.i += n
	// An escape of n bytes decodes to at most n bytes: out keeps room.
	r.out = utf8.AppendRune(r.out, c)
	return nil
}

// number reads a JSON number and returns its text.
func (r *reader) number() ([]byte, error) {
	r.ws()
	start := r.i
	n, expected := jsonstr.Number(r.b[r.i:])
	r.i += n
	if expected != "" {
		return nil, errJSON
	}
	return r.b[start:r.i], nil
}

// numericDate reads a NumericDate (RFC 7519, section 2): seconds since
// the epoch, possibly with a fraction. It returns whole seconds, a
// fraction rounded up if up is set and down otherwise (toward zero would
// make nbf 2000000000.5 valid half a second early), or an error if the
// value does not fit.
func (r *reader) numericDate(up bool) (int64, error) {
	t, err := r.number()
	if err != nil {
		return 0, err
	}
	if len(t) <= 18 {
		var v int64
		plain := true
		for _, c := range t {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if plain {
			return v, nil
		}
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil || math.IsInf(f, 0) || f > 1<<62 || f < -(1<<62) {
		return 0, errJSON
	}
	if up {
		return int64(math.Ceil(f)), nil
	}
	return int64(math.Floor(f)), nil
}

// skip reads any value and checks that it is valid JSON.
func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return errJSON
	}
	mark := len(r.out)
	defer func() { r.out = r.out[:mark] }()
	switch c := r.peek(); c {
	case '"':
		_, err := r.str()
		return err
	case '{', '[':
		r.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if r.expect(end) {
			return nil
		}
		for {
			if c == '{' {
				if _, err := r.str(); err != nil {
					return err
				}
				if !r.expect(':') {
					return errJSON
				}
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
			if r.expect(',') {
				continue
			}
			if r.expect(end) {
				return nil
			}
			return errJSON
		}
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	default:
		_, err := r.number()
		return err
	}
}

func (r *reader) literal(s string) error {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return errJSON
	}
	r.i += len(s)
	return nil
}
