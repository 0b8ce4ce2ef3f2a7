package middleware

import (
	"net/http"
	"strings"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// volatile is shared so that passing it costs no allocation.
// Request cells are volatile, and Scoped: the request scope destroys every
// one of them when the handler returns, on every path, so the finalizer
// safety net would only cost the request path.
var volatile = []secret.Option{secret.Volatile(), secret.Scoped()}

// extractor is a compiled Tokens configuration.
type extractor struct {
	bearer  bool
	scheme  string
	apiKeys []string
	cookies []string
	slots   int
}

func newExtractor(c config) *extractor {
	e := &extractor{
		bearer:  !c.noBearer,
		scheme:  c.scheme,
		apiKeys: c.apiKeys,
		cookies: c.cookies,
	}
	if e.scheme == "" {
		e.scheme = "Bearer"
	}
	e.slots = len(e.apiKeys) + len(e.cookies)
	if e.bearer {
		e.slots++
	}
	return e
}

// begin creates the request scope and moves the credentials into it.
func (e *extractor) begin(r *http.Request) *scope {
	s := newScope(r.Context(), e.slots)
	e.take(s, r.Header)
	return s
}

// take moves the configured credentials out of h into cells in s. Every
// configured credential gets a slot, present or not, so that lookups can
// tell "absent" from "not looked for"; Basic and proxy credentials get a
// slot only when present.
func (e *extractor) take(s *scope, h http.Header) {
	if e.bearer {
		vals := h["Authorization"]
		delete(h, "Authorization")
		sl := slot{kind: kindBearer}
		if len(vals) == 1 {
			withValue(vals[0], func(b []byte) {
				if tok, ok := schemeCredential(b, e.scheme); ok {
					sl.v, sl.ok = cell(tok)
				} else if cred, ok := schemeCredential(b, "Basic"); ok {
					s.addBasic(kindBasic, cred)
				}
			})
		}
		s.slots = append(s.slots, sl)
		dropAll(vals, len(vals) == 1)
	}
	if vals := h["Proxy-Authorization"]; vals != nil {
		delete(h, "Proxy-Authorization")
		if len(vals) == 1 {
			withValue(vals[0], func(b []byte) {
				if tok, ok := schemeCredential(b, "Bearer"); ok {
					sl := slot{kind: kindProxyBearer}
					if sl.v, sl.ok = cell(tok); sl.ok {
						s.slots = append(s.slots, sl)
					}
				} else if cred, ok := schemeCredential(b, "Basic"); ok {
					s.addBasic(kindProxyBasic, cred)
				}
			})
		}
		dropAll(vals, len(vals) == 1)
	}
	for _, name := range e.apiKeys {
		vals := h[name]
		delete(h, name)
		sl := slot{kind: kindAPIKey, name: name}
		if len(vals) == 1 {
			withValue(vals[0], func(b []byte) {
				if validCredential(b) {
					sl.v, sl.ok = cell(b)
				}
			})
		}
		s.slots = append(s.slots, sl)
		dropAll(vals, len(vals) == 1)
	}
	if len(e.cookies) > 0 {
		e.takeCookies(s, h)
	}
}

// withValue calls fn with the bytes of a header value: the value itself,
// or, when a Listener put a placeholder in its place, the cell the
// credential went into (read once, and destroyed). A placeholder that
// claims nothing calls fn with nothing: the credential is absent.
func withValue(v string, fn func([]byte)) {
	c, ok, isPlaceholder := claim(v)
	switch {
	case !isPlaceholder:
		fn(unsafe.Slice(unsafe.StringData(v), len(v)))
	case ok:
		_ = c.Use(func(b []byte) error {
			fn(b)
			return nil
		})
		c.Destroy()
	default:
		fn(nil)
	}
}

// dropAll destroys the cells behind the placeholders among vals that were
// not read: a header repeated (and so refused) still gives up its cells
// now rather than when the connection closes. skip says whether the only
// value was read already.
func dropAll(vals []string, skip bool) {
	if skip {
		return
	}
	for _, v := range vals {
		if c, ok, _ := claim(v); ok {
			c.Destroy()
		}
	}
}

// cookieHit counts the occurrences of one configured cookie.
type cookieHit struct {
	n   int
	val string
}

func (e *extractor) takeCookies(s *scope, h http.Header) {
	lines := h["Cookie"]
	var buf [8]cookieHit
	hits := buf[:0]
	if len(e.cookies) > len(buf) {
		hits = make([]cookieHit, 0, len(e.cookies))
	}
	hits = hits[:len(e.cookies)]
	// First pass: find the configured cookies, leaving the lines intact
	// until their values are in cells.
	for _, line := range lines {
		for rest := line; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ";")
			name, val, _ := strings.Cut(trimOWS(part), "=")
			if i := indexOf(e.cookies, trimOWS(name)); i >= 0 {
				if hits[i].n++; hits[i].n > 1 {
					dropAll([]string{hits[i].val, val}, false)
				}
				hits[i].val = val
			}
		}
	}
	for i, name := range e.cookies {
		sl := slot{kind: kindCookie, name: name}
		if hits[i].n == 1 {
			withValue(hits[i].val, func(b []byte) {
				if v, ok := cookieValue(b); ok {
					sl.v, sl.ok = cell(v)
				}
			})
		}
		s.slots = append(s.slots, sl)
	}
	// Second pass: rewrite the lines without the configured cookies.
	kept := lines[:0]
	for _, line := range lines {
		stripped, _ := stripCookies(line, e.cookies)
		if stripped != "" {
			kept = append(kept, stripped)
		}
	}
	// Drop the references the backing array still holds past kept.
	clear(lines[len(kept):])
	if len(kept) == 0 {
		delete(h, "Cookie")
	} else {
		h["Cookie"] = kept
	}
}

// stripCookies returns line without the named cookies, and whether it
// removed any. It splits and trims the way net/http's cookie parser does,
// so every cookie net/http would find under a name is removed.
func stripCookies(line string, names []string) (string, bool) {
	found := false
	for rest := line; rest != "" && !found; {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		name, _, _ := strings.Cut(trimOWS(part), "=")
		found = indexOf(names, trimOWS(name)) >= 0
	}
	if !found {
		return line, false
	}
	var b strings.Builder
	b.Grow(len(line))
	for rest := line; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		part = trimOWS(part)
		name, _, _ := strings.Cut(part, "=")
		if part == "" || indexOf(names, trimOWS(name)) >= 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(part)
	}
	return b.String(), true
}

// cell copies a credential into a volatile pooled cell. A cell that
// cannot be created (the system refused to lock memory) leaves the
// credential absent: the request fails closed. b may be a view of a
// string or of another cell; it is copied, never changed.
func cell(b []byte) (secret.Value, bool) {
	if len(b) == 0 {
		return secret.Value{}, false
	}
	v, err := secret.FromString(unsafe.String(unsafe.SliceData(b), len(b)), volatile...)
	return v, err == nil
}

// schemeCredential returns the credential of an Authorization value in the
// given scheme: the scheme (any case), one or more spaces, the credential.
func schemeCredential(v []byte, scheme string) ([]byte, bool) {
	n := len(scheme)
	if len(v) <= n || v[n] != ' ' || !equalFoldASCII(string(v[:n]), scheme) {
		return nil, false
	}
	tok := v[n:]
	for len(tok) > 0 && tok[0] == ' ' {
		tok = tok[1:]
	}
	return tok, validCredential(tok)
}

// cookieValue unquotes a cookie value and checks it.
func cookieValue(raw []byte) ([]byte, bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	for _, c := range raw {
		if c == '"' || c == '\\' {
			return nil, false
		}
	}
	return raw, validCredential(raw)
}

// validCredential: 1 to MaxCredentialSize visible ASCII characters. It
// looks at eight bytes at once: a bearer token has a few hundred.
func validCredential[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > MaxCredentialSize {
		return false
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // the eight loads are one, with one bounds check
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if !visible8(x) {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// visible8 reports whether all eight bytes of x are in 0x21..0x7e. Each
// test is exact for the word as a whole (it may mark the wrong byte, but
// never none when one is out of range): a byte below 0x21 borrows into
// its top bit when 0x21 is subtracted from it, and a byte over 0x7e
// carries into its top bit when 0x01 is added, or has it set already.
func visible8(x uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	below := (x - 0x21*ones) &^ x & tops
	above := (x + 0x01*ones | x) & tops
	return below|above == 0
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// trimOWS trims what net/textproto.TrimString trims: ASCII space, tab,
// CR and LF.
func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func canonicalHeader(name string) string { return http.CanonicalHeaderKey(name) }
