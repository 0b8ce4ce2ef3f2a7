package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/sign"
)

// Errors Verify returns, for errors.Is. Their messages say what is wrong
// with the token and never quote it.
var (
	ErrMalformed   = errors.New("jwt: malformed token")
	ErrTooLarge    = errors.New("jwt: the token is too large")
	ErrAlgorithm   = errors.New("jwt: algorithm not accepted")
	ErrUnknownKey  = errors.New("jwt: no key for the token")
	ErrSignature   = errors.New("jwt: invalid signature")
	ErrExpired     = errors.New("jwt: the token has expired")
	ErrNotYetValid = errors.New("jwt: the token is not valid yet")
	ErrNoExpiry    = errors.New("jwt: the token has no expiry (exp)")
	ErrIssuer      = errors.New("jwt: wrong issuer")
	ErrAudience    = errors.New("jwt: wrong audience")
	ErrCritical    = errors.New("jwt: the token requires an extension this verifier does not implement (crit)")
)

// DefaultMaxSize is the longest token a Verifier accepts unless told
// otherwise: 8 KiB, the longest credential package middleware accepts.
const DefaultMaxSize = 8 << 10

// Options configures a Verifier. The zero value checks the signature,
// expiry and not-before with no leeway, requires an expiry, and refuses
// any token that names an audience (RFC 7519, 4.1.3: a recipient that
// does not find itself in "aud" must refuse the token).
type Options struct {
	// Issuer, if set, must equal the token's "iss".
	Issuer string
	// Audience, if set, must be one of the token's "aud" values.
	Audience string
	// Leeway is the clock skew allowed on "exp" and "nbf".
	Leeway time.Duration
	// AllowNoExpiry accepts tokens without "exp", which never expire.
	AllowNoExpiry bool
	// MaxSize is the longest token accepted, in bytes (DefaultMaxSize
	// if 0).
	MaxSize int
	// Now returns the current time (time.Now if nil).
	Now func() time.Time
}

// A Verifier checks tokens against a set of keys and the Options. It is
// safe for concurrent use. It keeps, per key, the header of the last
// token the key verified (base64url, up to 400 characters; a header is
// not secret), so that the next token with the same header does not read
// it again.
type Verifier struct {
	keys  []*Key
	opts  Options
	memos []atomic.Pointer[headerMemo] // per key: see recall
}

// NewVerifier returns a Verifier that accepts tokens signed by any of
// keys. A token that names a "kid" is checked with that key only; one
// without is checked with each key of its algorithm in turn. List several
// keys to rotate without downtime.
func NewVerifier(opts Options, keys ...*Key) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: a verifier needs at least one key", ErrKey)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("%w: a nil key", ErrKey)
		}
		if k.id != "" && seen[k.id] {
			return nil, fmt.Errorf("%w: two keys have the kid %q", ErrKey, k.id)
		}
		seen[k.id] = true
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{keys: slices.Clone(keys), opts: opts, memos: make([]atomic.Pointer[headerMemo], len(keys))}, nil
}

// Claims are a verified token's registered claims (RFC 7519, 4.1), and
// its payload for the rest. Times are zero when the claim is absent.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	ID        string // "jti"
	// KeyID and Algorithm are the header's "kid" and "alg".
	KeyID     string
	Algorithm Algorithm

	payload []byte // the claims' JSON
	seen    uint8  // registered claims read, to refuse duplicates
	aud     [1]string
	// inline holds the decoded header and claims, and in what is left
	// the strings with escapes, for tokens of ordinary size: one
	// allocation for the Claims and everything they point to.
	inline [inlineSize]byte
}

// inlineSize fits the decoded parts of a token of about 330 characters
// (strings without escapes are views of them). It makes Claims 472 bytes,
// which package middleware allocates with a request scope and an
// http.Request in 1024 bytes, a size class of the Go allocator (1016 and
// the allocator's 8-byte header).
const inlineSize = 248

// Decode unmarshals the token's claims into v with encoding/json, for
// claims of your own.
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.payload, v) }

// Payload returns the claims as the token carried them (JSON). The caller
// must not modify it.
func (c *Claims) Payload() []byte { return c.payload }

// Verify checks token (header.payload.signature, compact serialisation)
// and returns its claims. The token may be a slice of a cell (it is only
// read); the claims are copied out of it.
func (v *Verifier) Verify(token []byte) (*Claims, error) {
	c := new(Claims)
	if err := v.VerifyTo(c, token); err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyTo is Verify writing the claims into c, which must be a zero
// Claims: for callers that keep the claims inside a larger allocation
// (package middleware puts them in the request's context). On error, c
// holds nothing useful.
//
// For HS256 and HS512 the HMAC runs with its key in protected memory, and
// the token's signature is decoded and compared with it in scratch
// memory that is wiped with the stack before Verify returns. For EdDSA
// the signature is decoded and checked on a stack that is wiped.
func (v *Verifier) VerifyTo(c *Claims, token []byte) error {
	if len(token) > v.opts.MaxSize {
		return fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, len(token), v.opts.MaxSize)
	}
	d1 := bytes.IndexByte(token, '.')
	if d1 < 0 {
		return fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	d2 := d1 + 1 + bytes.IndexByte(token[d1+1:], '.')
	if d2 == d1 || bytes.IndexByte(token[d2+1:], '.') >= 0 {
		return fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	h64, p64, s64 := token[:d1], token[d1+1:d2], token[d2+1:]
	// A header seen before, byte for byte, is not read again.
	memo := v.recall(h64)
	hn, pn := 0, b64.DecodedLen(len(p64))
	if memo == nil {
		hn = b64.DecodedLen(len(h64))
	}
	// The decoded header and payload, followed by room for the strings
	// with escapes (reader.escaped makes more if needed): in c when they
	// fit.
	var buf []byte
	if hn+pn <= len(c.inline) {
		buf = c.inline[:hn+pn]
	} else {
		buf = make([]byte, hn+pn, 2*(hn+pn))
	}
	hdrJSON, payload := buf[:hn], buf[hn:hn+pn:hn+pn]
	// The decoder skips CR and LF even in strict mode: a part whose
	// decoded length does not encode back to its own length had them.
	if memo == nil {
		if n, err := b64.Decode(hdrJSON, h64); err != nil || n != hn || b64.EncodedLen(n) != len(h64) {
			return fmt.Errorf("%w: the header is not base64url", ErrMalformed)
		}
	}
	if n, err := b64.Decode(payload, p64); err != nil || n != pn || b64.EncodedLen(n) != len(p64) {
		return fmt.Errorf("%w: the payload is not base64url", ErrMalformed)
	}
	r := reader{b: hdrJSON, out: buf[hn+pn:]}
	var h tokenHeader
	if memo != nil {
		h = memo.header
	} else {
		var err error
		if h, err = readHeader(&r); err != nil {
			return err
		}
	}
	i, err := v.checkSignature(h, token[:d2], s64)
	if err != nil {
		return err
	}
	if memo == nil {
		v.remember(i, h64, h)
	}
	c.payload, c.Algorithm = payload, h.alg
	if h.hasKid {
		c.KeyID = v.keys[i].id // the token's kid, byte for byte
	}
	r = reader{b: payload, out: r.out}
	if err := c.parse(&r); err != nil {
		return fmt.Errorf("%w: the claims are %w", ErrMalformed, err)
	}
	return v.checkClaims(c)
}

// clip shortens a value from the token quoted in an error (an algorithm
// name): enough to tell what it was, never a long string.
func clip(b []byte) string {
	if len(b) > 16 {
		return string(b[:16]) + "..."
	}
	return string(b)
}

// checkSignature finds the key for the token, checks its signature, and
// returns the index of the key that verified it.
func (v *Verifier) checkSignature(h tokenHeader, input, sig []byte) (int, error) {
	if h.hasKid {
		for i, k := range v.keys {
			if k.id == h.kid {
				if k.alg != h.alg {
					return -1, fmt.Errorf("%w: the key %q is for %s, the token says %s", ErrAlgorithm, k.id, k.alg, h.alg)
				}
				return i, k.verify(input, sig)
			}
		}
		return -1, fmt.Errorf("%w: no key has the token's kid", ErrUnknownKey)
	}
	tried := false
	var last error
	for i, k := range v.keys {
		if k.alg != h.alg {
			continue
		}
		tried = true
		err := k.verify(input, sig)
		if err == nil {
			return i, nil
		}
		last = err
	}
	if !tried {
		return -1, fmt.Errorf("%w: no key for %s", ErrAlgorithm, h.alg)
	}
	return -1, last
}

// verify checks sig, the token's base64url signature, over input.
func (k *Key) verify(input, sig []byte) error {
	switch k.alg {
	case HS256, HS512:
		if b64.DecodedLen(len(sig)) != k.mac.Size() {
			return ErrSignature
		}
		err := k.mac.Check(func(mac, scratch []byte) bool { return sameBase64(mac, scratch, sig) }, input)
		if errors.Is(err, sign.ErrInvalid) {
			return ErrSignature
		}
		return err
	case EdDSA:
		if b64.DecodedLen(len(sig)) != ed25519.SignatureSize {
			return ErrSignature
		}
		pub, err := k.publicKey()
		if err != nil {
			return err
		}
		ok := false
		keyed.EraseDeep(func() { ok = verifyEd25519(pub, input, sig) })
		if !ok {
			return ErrSignature
		}
		return nil
	}
	return ErrAlgorithm
}

// sameBase64 reports, in constant time, whether sig is the base64url of
// mac. It decodes sig, the token's bytes, rather than encode mac: the
// encoder looks each 6 bits of its input up in a 64-byte table, which
// spans two cache lines when its heap slot starts mid-line (b64's size
// class puts every other slot 32 bytes into one), and then which line is
// read depends on the expected MAC; the decoder's lookups depend only on
// the token. It runs inside the HMAC's erased computation, and the decoded
// signature (the MAC itself when the token is genuine) is written into
// the HMAC's scratch, which is wiped with the stack. The strict decoder
// refuses non-zero spare bits, and a decoded length other than mac's
// (line breaks, which the decoder skips, shorten it) is refused.
func sameBase64(mac, scratch, sig []byte) bool {
	if b64.DecodedLen(len(sig)) != len(mac) || len(mac) > len(scratch) {
		return false
	}
	n, err := b64.Decode(scratch[:len(mac)], sig)
	return err == nil && n == len(mac) && subtle.ConstantTimeCompare(scratch[:n], mac) == 1
}

// verifyEd25519 decodes the signature on the stack and checks it. It
// runs in EraseDeep.
func verifyEd25519(pub ed25519.PublicKey, input, sig []byte) bool {
	var raw [ed25519.SignatureSize]byte
	if n, err := b64.Decode(raw[:], sig); err != nil || n != len(raw) {
		return false
	}
	return ed25519.Verify(pub, input, raw[:])
}

func (v *Verifier) checkClaims(c *Claims) error {
	now := v.opts.Now()
	leeway := v.opts.Leeway
	switch {
	case c.ExpiresAt.IsZero() && !v.opts.AllowNoExpiry:
		return ErrNoExpiry
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(leeway)):
		return ErrExpired
	case !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore):
		return ErrNotYetValid
	case v.opts.Issuer != "" && c.Issuer != v.opts.Issuer:
		return ErrIssuer
	}
	if c.seen&(1<<claimAud) != 0 {
		if v.opts.Audience == "" {
			return fmt.Errorf("%w: the token names an audience and the verifier has none (set Options.Audience)", ErrAudience)
		}
		if !slices.Contains(c.Audience, v.opts.Audience) {
			return ErrAudience
		}
	} else if v.opts.Audience != "" {
		return fmt.Errorf("%w: the token names no audience", ErrAudience)
	}
	return nil
}
