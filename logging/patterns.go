package logging

import (
	"encoding/base64"
	"strings"
	"unsafe"
)

// Pattern is a set of the built-in value checks. RedactOptions.Disable
// turns checks off; all are on by default.
type Pattern uint32

// The built-in value checks. Each replaces only the secret part of a string
// with "[REDACTED]" and keeps the text around it.
const (
	// PatternAuthHeader: HTTP credentials, "Bearer <token>" (any case) and
	// "Basic <base64 of user:password>".
	PatternAuthHeader Pattern = 1 << iota
	// PatternJWT: JSON Web Tokens (eyJ....).
	PatternJWT
	// PatternPrivateKey: PEM private key blocks, from the BEGIN line through
	// the END line (or the end of the string when it is cut off).
	PatternPrivateKey
	// PatternURLPassword: the password in URL userinfo
	// (postgres://app:[REDACTED]@db/app) and in Go MySQL DSNs
	// (app:[REDACTED]@tcp(db:3306)/app).
	PatternURLPassword
	// PatternKeyValue: the value after a secret-looking key inside text:
	// password=..., "token": "...", password:... (key=value DSNs, query
	// strings, cookies, JSON and %+v output). Keys match as for attributes.
	PatternKeyValue
	// PatternToken: cloud and VCS token formats: AWS access key IDs, GitHub,
	// GitLab, Slack, Stripe, Google API keys and OAuth tokens, npm, PyPI,
	// Hugging Face, OpenAI and Anthropic keys, SendGrid, DigitalOcean,
	// HashiCorp Vault, Shopify and Square tokens.
	PatternToken
	// PatternLiveSecret: the plaintext of any live secret.Value, found by
	// its fingerprint (see the package documentation).
	PatternLiveSecret
)

type span struct{ start, end int }

// charClass is a byte set.
type charClass [256]bool

func makeClass(sets ...string) *charClass {
	var c charClass
	for _, set := range sets {
		for i := 0; i < len(set); i++ {
			if i+2 < len(set) && set[i+1] == '~' { // a range such as "a~z"
				for b := int(set[i]); b <= int(set[i+2]); b++ {
					c[b] = true
				}
				i += 2
				continue
			}
			c[set[i]] = true
		}
	}
	return &c
}

var (
	alnum       = makeClass("a~z", "A~Z", "0~9")
	alnumUnder  = makeClass("a~z", "A~Z", "0~9", "_")
	alnumDash   = makeClass("a~z", "A~Z", "0~9", "-")
	b64url      = makeClass("a~z", "A~Z", "0~9", "_-")
	b64urlDot   = makeClass("a~z", "A~Z", "0~9", "_-.")
	upperDigit  = makeClass("A~Z", "0~9")
	hexDigit    = makeClass("a~f", "A~F", "0~9")
	letters     = makeClass("a~z", "A~Z")
	token68     = makeClass("a~z", "A~Z", "0~9", "-._+/", "~")
	keyChar     = makeClass("a~z", "A~Z", "0~9", "_.-", "\x80~\xff")
	valueStop   = makeClass("\x00~ ", `,;&"'()[]{}<>`, "\x7f")
	authorityEn = makeClass("\x00~ ", `/?#"'<>`, "\x7f")
)

// Trigger kinds: the bytes at which some check may start. The scan loop
// looks at nothing else, and at word-start triggers only where a word
// starts, which skips most letters of ordinary text.
const (
	anywhere  = 1
	wordStart = 2
)

var (
	rulesByFirst [256][]tokenRule
	trigger      [256]uint8
	// rulePairs has a bit for the first two bytes of every token prefix.
	rulePairs pairSet
	// startPairs has a bit for the first two bytes of everything a
	// word-start check can match: every token prefix, "ey" (a JWT),
	// "Ba" (Basic) and "be" in any case (Bearer). A word-start trigger
	// followed by any other byte starts nothing.
	startPairs pairSet
)

// pairSet is a set of two-byte sequences.
type pairSet [1 << 16 / 64]uint64

func (p *pairSet) add(a, b byte) {
	i := uint32(a)<<8 | uint32(b)
	p[i/64] |= 1 << (i % 64)
}

func (p *pairSet) has(a, b byte) bool {
	i := uint32(a)<<8 | uint32(b)
	return p[i/64]&(1<<(i%64)) != 0
}

func init() {
	for _, r := range tokenRules {
		rulesByFirst[r.prefix[0]] = append(rulesByFirst[r.prefix[0]], r)
		trigger[r.prefix[0]] = wordStart
		rulePairs.add(r.prefix[0], r.prefix[1])
		startPairs.add(r.prefix[0], r.prefix[1])
	}
	for _, c := range []byte("eBb") {
		trigger[c] = wordStart
	}
	for _, p := range []string{"ey", "Ba", "be", "bE", "Be", "BE"} {
		startPairs.add(p[0], p[1])
	}
	for _, c := range []byte(":=-@%") {
		trigger[c] = anywhere
	}
}

// next returns the first index from i on at which some check may start,
// or len(s). Most bytes start none, and most letters that may start a
// word-start check are inside a word or not followed by a byte that can
// continue one: this loop passes over them, so most strings never reach
// scan's checks, nor scan itself.
func next(s string, i int) int {
	for ; i < len(s); i++ {
		t := trigger[s[i]]
		if t == 0 {
			continue // the common case: one load and one test per byte
		}
		if t == anywhere || wordStartAt(s, i) {
			return i
		}
	}
	return len(s)
}

// wordStartAt reports whether the word-start trigger s[i] begins a word
// and is followed by a byte that can continue a check.
func wordStartAt(s string, i int) bool {
	return (i == 0 || !alnum[s[i-1]]) && i+1 < len(s) && startPairs.has(s[i], s[i+1])
}

// afterEscape reports whether s[i] follows a percent-escape: in
// "?q=%22eyJ..." and "Bearer%20eyJ..." a word starts after "%22" and
// "%20".
func afterEscape(s string, i int) bool {
	return i >= 3 && s[i-3] == '%' && hexDigit[s[i-2]] && hexDigit[s[i-1]]
}

// scan appends the spans of s that the enabled checks find, in order,
// starting at from, which next returned.
func (c *compiled) scan(s string, from int, spans []span) []span {
	on := ^c.disable
	noJWTBefore := 0
	for i := from; i < len(s); i = next(s, i+1) {
		b := s[i]
		sp, ok := span{}, false
		switch b {
		case ':':
			if on&PatternURLPassword != 0 && strings.HasPrefix(s[i:], "://") {
				sp, ok = urlPassword(s, i+3)
			}
			if !ok && on&PatternKeyValue != 0 {
				sp, ok = c.keyValue(s, i)
			}
		case '=':
			if on&PatternKeyValue != 0 {
				sp, ok = c.keyValue(s, i)
			}
		case '-':
			if on&PatternPrivateKey != 0 && len(s)-i > 10 && s[i+4] == '-' {
				sp, ok = privateKey(s, i)
			}
		case '@':
			if on&PatternURLPassword != 0 {
				sp, ok = mysqlPassword(s, i)
			}
		case 'e':
			if on&PatternJWT != 0 && i >= noJWTBefore && i+1 < len(s) && s[i+1] == 'y' {
				var skip int
				if sp, ok, skip = jwt(s, i); !ok {
					// No JWT can start inside the segment just measured,
					// but every other check still can ("eyJ-----BEGIN").
					noJWTBefore = skip
				}
			}
		case 'B', 'b':
			if on&PatternAuthHeader != 0 {
				sp, ok = authHeader(s, i)
			}
		case '%':
			// A word starts after a percent-escape: "?q=%22eyJ...",
			// "Bearer%20eyJ...". Its checks run from there.
			if j := i + 3; j+1 < len(s) && hexDigit[s[i+1]] && hexDigit[s[i+2]] && startPairs.has(s[j], s[j+1]) {
				sp, ok = c.escapedStart(s, j)
			}
		}
		if !ok && trigger[b] == wordStart && on&PatternToken != 0 && i+1 < len(s) && rulePairs.has(b, s[i+1]) {
			sp, ok = vendorToken(s, i)
		}
		if ok {
			// No skipping past the span: a longer credential may start
			// inside it ("token=Bearer <t>" is a key's value cut at the
			// space and an auth header; "pwd:-----BEGIN ... KEY-----" a
			// value and a PEM block). replaceSpans merges overlaps.
			spans = append(spans, sp)
		}
	}
	return spans
}

// escapedStart runs the word-start checks at j, just after a
// percent-escape.
func (c *compiled) escapedStart(s string, j int) (span, bool) {
	on := ^c.disable
	if on&PatternJWT != 0 && s[j] == 'e' {
		if sp, ok, _ := jwt(s, j); ok {
			return sp, true
		}
	}
	if on&PatternAuthHeader != 0 && (s[j] == 'B' || s[j] == 'b') {
		if sp, ok := authHeader(s, j); ok {
			return sp, true
		}
	}
	if on&PatternToken != 0 && rulePairs.has(s[j], s[j+1]) {
		return vendorToken(s, j)
	}
	return span{}, false
}

func run(s string, i int, class *charClass) int {
	j := i
	for j < len(s) && class[s[j]] {
		j++
	}
	return j
}

// urlPassword finds the password of the userinfo that starts at p, just
// after "://". The userinfo ends at the last '@' of the authority, so an
// unescaped '@' inside the password is still covered.
func urlPassword(s string, p int) (span, bool) {
	end := p
	for end < len(s) && !authorityEn[s[end]] {
		end++
	}
	at := strings.LastIndexByte(s[p:end], '@')
	if at < 0 {
		return span{}, false
	}
	colon := strings.IndexByte(s[p:p+at], ':')
	if colon < 0 {
		// https://TOKEN@host: a user name that looks like a credential
		// is one ("git@" and "app@" stay).
		if tokenUser(s[p : p+at]) {
			return span{p, p + at}, true
		}
		return span{}, false
	}
	if colon+1 == at {
		return span{}, false
	}
	return span{p + colon + 1, p + at}, true
}

// tokenUser reports whether a URL user name without a password is a
// credential: 20 bytes or more, or 8 or more mixing letters and digits.
func tokenUser(u string) bool {
	if len(u) >= 20 {
		return true
	}
	var letter, digit bool
	for i := 0; i < len(u); i++ {
		letter = letter || letters[u[i]]
		digit = digit || '0' <= u[i] && u[i] <= '9'
	}
	return len(u) >= 8 && letter && digit
}

// mysqlPassword finds user:password@tcp(host)/db, the go-sql-driver/mysql
// DSN form, whose '@' is followed by a protocol and a parenthesis.
func mysqlPassword(s string, at int) (span, bool) {
	rest := s[at+1:]
	if !strings.HasPrefix(rest, "tcp(") && !strings.HasPrefix(rest, "unix(") &&
		!strings.HasPrefix(rest, "tcp6(") && !strings.HasPrefix(rest, "(") {
		return span{}, false
	}
	start := at
	for start > 0 && !valueStop[s[start-1]] && s[start-1] != '/' {
		start--
	}
	colon := strings.IndexByte(s[start:at], ':')
	if colon < 0 || start+colon+1 == at {
		return span{}, false
	}
	return span{start + colon + 1, at}, true
}

func privateKey(s string, i int) (span, bool) {
	const begin, end, dashes = "-----BEGIN ", "-----END ", "-----"
	if !strings.HasPrefix(s[i:], begin) {
		return span{}, false
	}
	label := s[i+len(begin) : min(len(s), i+len(begin)+64)]
	if j := strings.Index(label, dashes); j >= 0 {
		label = label[:j]
	}
	if !strings.Contains(label, "PRIVATE KEY") {
		return span{}, false
	}
	rest := i + len(begin) + len(label)
	j := strings.Index(s[rest:], end)
	if j < 0 {
		return span{i, len(s)}, true // cut off: everything after BEGIN goes
	}
	stop := rest + j + len(end)
	tail := s[stop:min(len(s), stop+64+len(dashes))]
	if k := strings.Index(tail, dashes); k >= 0 {
		return span{i, stop + k + len(dashes)}, true
	}
	return span{i, len(s)}, true
}

// jwt finds header.payload.signature starting at i. On failure it returns
// where the next JWT could start.
func jwt(s string, i int) (span, bool, int) {
	if !strings.HasPrefix(s[i:], "eyJ") {
		return span{}, false, i + 1
	}
	h := run(s, i, b64url)
	if h-i < 10 || h == len(s) || s[h] != '.' {
		return span{}, false, h
	}
	p := run(s, h+1, b64url)
	if p-h-1 < 4 || p == len(s) || s[p] != '.' {
		return span{}, false, h
	}
	return span{i, run(s, p+1, b64url)}, true, 0
}

func authHeader(s string, i int) (span, bool) {
	if i > 0 && letters[s[i-1]] && !afterEscape(s, i) {
		return span{}, false
	}
	basic := false
	switch {
	case len(s)-i > 6 && strings.EqualFold(s[i:i+6], "bearer"):
		i += 6
	case len(s)-i > 5 && s[i:i+5] == "Basic":
		i += 5
		basic = true
	default:
		return span{}, false
	}
	if s[i] != ' ' && !strings.HasPrefix(s[i:], "%20") {
		return span{}, false
	}
	for i < len(s) {
		if s[i] == ' ' {
			i++
		} else if strings.HasPrefix(s[i:], "%20") {
			i += 3
		} else {
			break
		}
	}
	end := run(s, i, token68)
	for end < len(s) && s[end] == '=' {
		end++
	}
	tok := s[i:end]
	if len(tok) < 8 {
		return span{}, false
	}
	if basic && !isBasicCredential(tok) || !basic && !looksLikeToken(tok) {
		return span{}, false
	}
	return span{i, end}, true
}

// looksLikeToken keeps "Bearer authentication" readable: real tokens carry
// a digit, a symbol or mixed case.
func looksLikeToken(t string) bool {
	var lower, upper bool
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = upper || i > 0
		default:
			return true
		}
	}
	return lower && upper
}

// isBasicCredential reports whether t is base64 of a credential: printable
// text, "user:password" or (as some clients send) a bare token without a
// colon. Prose ("Basic settings") decodes to bytes that are not text.
func isBasicCredential(t string) bool {
	if len(t) > 128 {
		return true // too long to be prose; decoding it would cost more than it proves
	}
	// Scratch on the heap, wiped: a stack that grew meanwhile would leave
	// the decoded credential behind.
	sc := getScratch()
	defer sc.release()
	sc.dec.grow(base64.StdEncoding.DecodedLen(len(t)))
	buf := sc.dec.b[:cap(sc.dec.b)]
	n, err := base64.StdEncoding.Decode(buf, unsafe.Slice(unsafe.StringData(t), len(t)))
	sc.dec.b = buf // all of it is wiped: the decoder writes in 8-byte steps
	ok := err == nil && n > 0
	for _, c := range buf[:n] {
		ok = ok && c >= 0x20 && c < 0x7f
	}
	return ok
}
