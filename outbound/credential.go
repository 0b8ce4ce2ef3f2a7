package outbound

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/secretmem/secretmem/internal/wire"
	"github.com/secretmem/secretmem/secret"
)

// A Credential says which secret a Transport sends and how it goes into the
// request. Build one with Bearer, Basic, APIKey or Scheme, from a
// secret.Source and a key: the Transport asks the source for the key's
// cell at every request, so a rotated secret is sent by the next request.
// A *config.Config is a secret.Source; secret.SourceFunc adapts a
// function, for a cell of your own.
type Credential struct {
	header string // canonical header name
	prefix string // written before the encoded secret
	user   string // Basic: the user name, plain
	basic  bool
	src    secret.Source
	key    string
	err    error // a construction mistake, reported by New
}

// Bearer sends "Authorization: Bearer <secret>" (RFC 6750).
func Bearer(s secret.Source, key string) Credential { return Scheme("Bearer", s, key) }

// Scheme sends "Authorization: <scheme> <secret>", for services with an
// authorization scheme of their own ("Token", "ApiKey", "SSWS", ...).
func Scheme(scheme string, s secret.Source, key string) Credential {
	c := Credential{header: "Authorization", prefix: scheme + " ", src: s, key: key}
	if !isToken(scheme) {
		c.err = fmt.Errorf("%w: the scheme %q is not an HTTP token", ErrCredential, scheme)
	}
	return c.check()
}

// Basic sends "Authorization: Basic base64(user:secret)" (RFC 7617). The
// user name is not secret; the secret is the password. The base64 is
// encoded from the cell straight into protected memory.
func Basic(user string, s secret.Source, key string) Credential {
	c := Credential{header: "Authorization", prefix: "Basic ", user: user, basic: true, src: s, key: key}
	switch {
	case strings.ContainsRune(user, ':'):
		c.err = fmt.Errorf("%w: a Basic user name cannot contain ':'", ErrCredential)
	case hasCTL(user):
		c.err = fmt.Errorf("%w: the Basic user name holds a control character", ErrCredential)
	}
	return c.check()
}

// APIKey sends the secret as the whole value of the named header, as in
// "X-Api-Key: <secret>".
func APIKey(header string, s secret.Source, key string) Credential {
	c := Credential{header: textproto.CanonicalMIMEHeaderKey(header), src: s, key: key}
	if !isToken(header) {
		c.err = fmt.Errorf("%w: %q is not a valid header name", ErrCredential, header)
	}
	return c.check()
}

func (c Credential) check() Credential {
	if c.err == nil && c.src == nil {
		c.err = fmt.Errorf("%w: no secret.Source to read %q from", ErrCredential, c.key)
	}
	return c
}

// ErrCredential reports a credential that cannot be sent: a bad header
// name, scheme or user name, or a secret an HTTP header cannot carry.
// Its messages name the key, never the secret.
var ErrCredential = errors.New("outbound: invalid credential")

// format is how the credential's wire form is written from its cell.
func (c Credential) format() wire.Format {
	if c.basic {
		head := c.user + ":"
		return wire.Format{
			Len: func(n int) int { return len(c.prefix) + base64.StdEncoding.EncodedLen(len(head)+n) },
			Write: func(dst, pw []byte) error {
				if len(pw) == 0 {
					return errEmpty
				}
				encodeBasic(dst[copy(dst, c.prefix):], head, pw)
				return nil
			},
		}
	}
	return wire.Format{
		Len: func(n int) int { return len(c.prefix) + n },
		Write: func(dst, b []byte) error {
			if len(b) == 0 {
				return errEmpty
			}
			if hasCTLBytes(b) {
				return errCTL
			}
			copy(dst[copy(dst, c.prefix):], b)
			return nil
		},
	}
}

var (
	errEmpty = fmt.Errorf("%w: the secret is empty", ErrCredential)
	errCTL   = fmt.Errorf("%w: the secret holds a control character or line break, which an HTTP header cannot carry "+
		"(a trailing newline from a file? read it with secret.TrimNewline)", ErrCredential)
)

// encodeBasic writes base64(head || pw) into dst without putting the two
// together anywhere: head's whole groups, then the one group that straddles
// head and pw (assembled on the stack and wiped), then the rest of pw.
func encodeBasic(dst []byte, head string, pw []byte) {
	enc := base64.StdEncoding
	k := len(head) / 3 * 3
	enc.Encode(dst, []byte(head[:k]))
	dst = dst[k/3*4:]
	r := len(head) - k
	if r == 0 {
		enc.Encode(dst, pw)
		return
	}
	var group [3]byte
	copy(group[:], head[k:])
	m := copy(group[r:], pw)
	enc.Encode(dst, group[:r+m])
	clear(group[:])
	if r+m == 3 {
		enc.Encode(dst[4:], pw[m:])
	}
}

// isToken reports whether s is an HTTP token (RFC 9110, 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func hasCTL(s string) bool { return hasCTLBytes([]byte(s)) }

// hasCTLBytes reports a byte no header value may hold: controls other than
// horizontal tab, and DEL. net/http would turn CR and LF into spaces on
// HTTP/1.1 (in a heap copy of the value) and refuse them on HTTP/2.
func hasCTLBytes(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}
