package jwt

import (
	"fmt"
	"time"
	"unsafe"
)

// header is what Verify reads of a token's header.
type header struct {
	alg, kid []byte
	crit     bool
	seen     uint8
}

// headerNames are the header members Verify reads; claimNames the
// registered claims. A member's bit in seen is 1 << its index.
var (
	headerNames = []string{"alg", "kid", "crit"}
	claimNames  = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}
	headerKeys  = keysOf(headerNames)
	claimKeys   = keysOf(claimNames)
)

// Indexes into headerNames and claimNames.
const (
	headerAlg = iota
	headerKid
	headerCrit
)

const (
	claimIss = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
)

// tokenHeader is what a verifier takes from a token's header: the
// algorithm, one of this package's constants, and the kid if it names one.
type tokenHeader struct {
	alg    Algorithm
	kid    string
	hasKid bool
}

// readHeader reads the header and checks what it asks for. kid is a view
// of r's input.
func readHeader(r *reader) (tokenHeader, error) {
	var h header
	if err := h.parse(r); err != nil {
		return tokenHeader{}, fmt.Errorf("%w: the header is %w", ErrMalformed, err)
	}
	if h.alg == nil {
		return tokenHeader{}, fmt.Errorf("%w: the header has no alg", ErrMalformed)
	}
	if h.crit {
		return tokenHeader{}, ErrCritical
	}
	t := tokenHeader{hasKid: h.kid != nil, kid: unsafe.String(unsafe.SliceData(h.kid), len(h.kid))}
	switch string(h.alg) {
	case string(HS256):
		t.alg = HS256
	case string(HS512):
		t.alg = HS512
	case string(EdDSA):
		t.alg = EdDSA
	default:
		return tokenHeader{}, fmt.Errorf("%w: %q", ErrAlgorithm, clip(h.alg))
	}
	return t, nil
}

// parse reads the header, an object, to its end.
func (h *header) parse(r *reader) error {
	if err := r.open(); err != nil {
		return err
	}
	for {
		i, done, err := r.next(headerKeys)
		if err != nil || done {
			return err
		}
		if err := h.read(r, i); err != nil {
			return err
		}
	}
}

// read reads the header member headerNames[i] (or skips another).
func (h *header) read(r *reader, i int) error {
	if i < 0 {
		return r.skip(0)
	}
	if h.seen&(1<<i) != 0 {
		return fmt.Errorf("%w (the member %q appears twice)", errJSON, headerNames[i])
	}
	h.seen |= 1 << i
	if i == headerCrit {
		h.crit = true
		return r.skip(0)
	}
	s, err := r.str()
	if i == headerAlg {
		h.alg = s
	} else {
		h.kid = s
	}
	return err
}

// parse reads the claims, an object, to its end.
func (c *Claims) parse(r *reader) error {
	if err := r.open(); err != nil {
		return err
	}
	for {
		i, done, err := r.next(claimKeys)
		if err != nil || done {
			return err
		}
		if err := c.read(r, i); err != nil {
			return err
		}
	}
}

// read reads the claim claimNames[i] (or skips another).
func (c *Claims) read(r *reader, i int) error {
	if i < 0 {
		return r.skip(0)
	}
	if c.seen&(1<<i) != 0 {
		return fmt.Errorf("%w (the claim %q appears twice)", errJSON, claimNames[i])
	}
	c.seen |= 1 << i
	switch i {
	case claimIss, claimSub, claimJti:
		s, err := r.str()
		if err != nil {
			return err
		}
		str := unsafe.String(unsafe.SliceData(s), len(s))
		switch i {
		case claimIss:
			c.Issuer = str
		case claimSub:
			c.Subject = str
		default:
			c.ID = str
		}
	case claimAud:
		return c.audience(r)
	default:
		// A fraction rounds toward refusal: nbf up, exp (and iat) down.
		secs, err := r.numericDate(i == claimNbf)
		if err != nil {
			return err
		}
		t := time.Unix(secs, 0)
		switch i {
		case claimExp:
			c.ExpiresAt = t
		case claimNbf:
			c.NotBefore = t
		default:
			c.IssuedAt = t
		}
	}
	return nil
}

// audience reads "aud": one string or an array of them.
func (c *Claims) audience(r *reader) error {
	if r.peek() == '"' {
		s, err := r.str()
		if err != nil {
			return err
		}
		c.aud[0] = unsafe.String(unsafe.SliceData(s), len(s))
		c.Audience = c.aud[:]
		return nil
	}
	if !r.expect('[') {
		return errJSON
	}
	c.Audience = []string{}
	if r.expect(']') {
		return nil
	}
	for {
		s, err := r.str()
		if err != nil {
			return err
		}
		c.Audience = append(c.Audience, unsafe.String(unsafe.SliceData(s), len(s)))
		if r.expect(',') {
			continue
		}
		if r.expect(']') {
			return nil
		}
		return errJSON
	}
}
