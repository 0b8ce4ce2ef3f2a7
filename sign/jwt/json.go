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
	b    []byte
	i    int
	out  []byte // strings with escapes are decoded here
	more bool   // a member of the object was read: the next needs a comma
}

func (r *reader) ws() { r.i = jsonstr.SkipSpace(r.b, r.i) }

// peek returns the next byte that is not white space, or 0 at the end.
// Tokens rarely have white space: the first byte is looked at before the
// loop that skips it.
func (r *reader) peek() byte {
	if r.i < len(r.b) && r.b[r.i] > ' ' {
		return r.b[r.i]
	}
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

// A nameKey is a member name of up to 7 bytes packed with its length, so
// that finding a name among those a verifier reads is a few integer
// comparisons rather than a string comparison per name.
type nameKey uint64

func keyOf[T string | []byte](name T) nameKey {
	if len(name) > 7 {
		return 0 // no name a verifier reads: 0 is no name's key
	}
	var k nameKey
	for i := len(name) - 1; i >= 0; i-- {
		k = k<<8 | nameKey(name[i])
	}
	return k | nameKey(len(name))<<56
}

func keysOf(names []string) []nameKey {
	keys := make([]nameKey, len(names))
	for i, n := range names {
		keys[i] = keyOf(n)
	}
	return keys
}

// open reads the brace that starts the object.
func (r *reader) open() error {
	r.more = false
	if !r.expect('{') {
		return errJSON
	}
	return nil
}

// next reads the next member's name and the colon after it, and returns
// the index in keys of the name, decoded, or -1 for any other name; the
// caller reads the value. done reports the closing brace, after which
// only white space may follow.
func (r *reader) next(keys []nameKey) (i int, done bool, err error) {
	switch c := r.peek(); {
	case c == '}':
		r.i++
		return -1, true, r.end()
	case r.more:
		if c != ',' {
			return -1, false, errJSON
		}
		r.i++
	}
	r.more = true
	// A name with escapes is decoded into out and dropped from it, so
	// that out keeps only the values a member keeps.
	mark := len(r.out)
	name, err := r.str()
	if err != nil {
		return -1, false, err
	}
	k := keyOf(name)
	r.out = r.out[:mark]
	if !r.expect(':') {
		return -1, false, errJSON
	}
	for j, key := range keys {
		if key == k {
			return j, false, nil
		}
	}
	return -1, false, nil
}

func (r *reader) end() error {
	r.ws()
	if r.i != len(r.b) {
		return errJSON
	}
	return nil
}

// stopsString marks the bytes a string's fast scan stops at: its end,
// an escape, and the control characters JSON refuses in strings.
var stopsString = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// str reads a string and returns it decoded: a view of the input when it
// has no escapes (most do), else a copy decoded into r.out. Either way it
// is checked as UTF-8.
func (r *reader) str() ([]byte, error) {
	if !r.expect('"') {
		return nil, errJSON
	}
	start := r.i
	var seen byte // every byte ORed: its top bit says whether all are ASCII
	j := start
	for j < len(r.b) && !stopsString[r.b[j]] {
		seen |= r.b[j]
		j++
	}
	if j < len(r.b) && r.b[j] == '"' {
		r.i = j + 1
		s := r.b[start:j:j]
		if seen >= utf8.RuneSelf && !utf8.Valid(s) {
			return nil, errJSON
		}
		return s, nil
	}
	return r.escaped(start, j)
}

// escaped reads the rest of a string that has an escape (or is cut
// short) at j, decoding it into out from its start.
func (r *reader) escaped(start, j int) ([]byte, error) {
	// The string decodes to at most its length in the input: make that
	// room in out first, so that appending never moves out (what was
	// dropped from it by a mark stays dropped).
	end := j
	for end < len(r.b) && r.b[end] != '"' {
		if r.b[end] == '\\' {
			end++
		}
		end++
	}
	if need := min(end, len(r.b)) - start; cap(r.out)-len(r.out) < need {
		// Only when the claims fill most of the Claims' own buffer.
		r.out = append(make([]byte, 0, len(r.out)+len(r.b)-start), r.out...)
	}
	from := len(r.out)
	r.i = start
	for {
		r.out = append(r.out, r.b[r.i:j]...)
		r.i = j
		if j == len(r.b) {
			return nil, errJSON
		}
		switch r.b[j] {
		case '"':
			r.i++
			s := r.out[from:]
			// An escape may decode to any rune (or a lone surrogate's
			// replacement): check the whole string.
			if !utf8.Valid(s) {
				return nil, errJSON
			}
			return s, nil
		case '\\':
			if err := r.escape(); err != nil {
				return nil, err
			}
		default:
			return nil, errJSON // a control character
		}
		for j = r.i; j < len(r.b) && !stopsString[r.b[j]]; j++ {
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
	// Nearly every date is whole seconds: read those digits as they are
	// checked. Anything else (a leading zero, a fraction, an exponent, a
	// sign, 19 digits or more) is read by the general path below.
	if r.peek() >= '1' && r.b[r.i] <= '9' {
		var v int64
		j := r.i
		for ; j < len(r.b) && j-r.i < 18 && r.b[j] >= '0' && r.b[j] <= '9'; j++ {
			v = v*10 + int64(r.b[j]-'0')
		}
		if j == len(r.b) || !isNumberByte(r.b[j]) {
			r.i = j
			return v, nil
		}
	}
	t, err := r.number()
	if err != nil {
		return 0, err
	}
	return dateOf(t, up)
}

// dateOf is the value of a NumericDate's text t, a JSON number: a
// fraction rounds up or down as up says, and a value too large to be a
// date is errJSON.
func dateOf(t []byte, up bool) (int64, error) {
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

// isNumberByte reports whether c can continue a JSON number.
func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// skip reads any value and checks that it is valid JSON. What it
// decodes into out is dropped.
func (r *reader) skip(depth int) error {
	mark := len(r.out)
	err := r.value(depth)
	r.out = r.out[:mark]
	return err
}

func (r *reader) value(depth int) error {
	if depth > maxDepth {
		return errJSON
	}
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
			if err := r.value(depth + 1); err != nil {
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
