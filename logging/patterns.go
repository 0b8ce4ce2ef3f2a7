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

// tokenRule is one vendor token format: a literal prefix followed by at
// least min bytes of class.
type tokenRule struct {
	prefix string
	class  *charClass
	min    int
}

var tokenRules = []tokenRule{
	{"AKIA", upperDigit, 16}, {"ASIA", upperDigit, 16}, {"AGPA", upperDigit, 16},
	{"AIDA", upperDigit, 16}, {"AROA", upperDigit, 16}, {"AIPA", upperDigit, 16},
	{"ANPA", upperDigit, 16}, {"ANVA", upperDigit, 16}, {"ABIA", upperDigit, 16},
	{"ACCA", upperDigit, 16},
	{"AIza", b64url, 30},
	{"ya29.", b64url, 20},
	{"ghp_", alnum, 30}, {"gho_", alnum, 30}, {"ghu_", alnum, 30},
	{"ghs_", alnum, 30}, {"ghr_", alnum, 30}, {"github_pat_", alnumUnder, 22},
	{"glpat-", b64url, 20}, {"gldt-", b64url, 20}, {"glrt-", b64url, 20},
	{"glptt-", b64url, 20}, {"glsoat-", b64url, 20}, {"gloas-", b64url, 20},
	{"xoxb-", alnumDash, 10}, {"xoxp-", alnumDash, 10}, {"xoxa-", alnumDash, 10},
	{"xoxr-", alnumDash, 10}, {"xoxs-", alnumDash, 10}, {"xoxo-", alnumDash, 10},
	{"xoxe-", alnumDash, 10}, {"xoxe.", alnumDash, 10}, {"xapp-", alnumDash, 10},
	{"sk_live_", alnum, 16}, {"sk_test_", alnum, 16}, {"rk_live_", alnum, 16},
	{"rk_test_", alnum, 16}, {"whsec_", alnum, 16},
	{"sk-ant-", b64url, 20}, {"sk-proj-", b64url, 20}, {"sk-", b64url, 32},
	{"npm_", alnum, 30}, {"pypi-", b64url, 50}, {"hf_", letters, 30},
	{"SG.", b64urlDot, 40}, {"dop_v1_", hexDigit, 64}, {"doo_v1_", hexDigit, 64},
	{"dor_v1_", hexDigit, 64}, {"hvs.", b64url, 24}, {"hvb.", b64url, 24},
	{"hvr.", b64url, 24}, {"shpat_", hexDigit, 32}, {"shpss_", hexDigit, 32},
	{"shpca_", hexDigit, 32}, {"shppa_", hexDigit, 32},
	{"sq0atp-", b64url, 22}, {"sq0csp-", b64url, 22},
}

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
	for _, c := range []byte(":=-@") {
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

func run(s string, i int, class *charClass) int {
	j := i
	for j < len(s) && class[s[j]] {
		j++
	}
	return j
}

func vendorToken(s string, i int) (span, bool) {
	for _, r := range rulesByFirst[s[i]] {
		if !strings.HasPrefix(s[i:], r.prefix) {
			continue
		}
		body := i + len(r.prefix)
		if end := run(s, body, r.class); end-body >= r.min {
			return span{i, end}, true
		}
	}
	return span{}, false
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
	if colon < 0 || colon+1 == at {
		return span{}, false
	}
	return span{p + colon + 1, p + at}, true
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

// keyValue handles a '=' or ':' at i: when the key before it names a
// secret, the value after it is the span.
func (c *compiled) keyValue(s string, i int) (span, bool) {
	quotedKey := false
	end := i
	for end > 0 && end > i-4 && s[end-1] == ' ' {
		end--
	}
	if end > 0 && (s[end-1] == '"' || s[end-1] == '\'') {
		quotedKey = true
		end--
	}
	start, limit := end, max(0, end-maxKeyBuf)
	for start > limit && keyChar[s[start-1]] {
		start--
	}
	if start == end {
		return span{}, false
	}
	v := i + 1
	if s[i] == ':' {
		// "password: too short" is prose; "password:x" and a quoted key
		// ("password": "x") are data.
		if !quotedKey && (v == len(s) || s[v] == ' ' || s[v] == '/' || s[v] == ':') {
			return span{}, false
		}
	}
	for v < len(s) && s[v] == ' ' {
		v++
	}
	// The key is checked before the value is measured, so text full of
	// '=' and quotes costs linear time, not quadratic.
	if v == len(s) || strings.HasPrefix(s[v:], "[REDACTED") || !c.keys.match(s[start:end]) {
		return span{}, false
	}
	var vEnd int
	if q := s[v]; q == '"' || q == '\'' {
		v++
		vEnd = v
		for vEnd < len(s) && s[vEnd] != q {
			if s[vEnd] == '\\' {
				vEnd++
			}
			vEnd++
		}
		vEnd = min(vEnd, len(s))
	} else {
		vEnd = v
		for vEnd < len(s) && !valueStop[s[vEnd]] {
			vEnd++
		}
	}
	if vEnd == v {
		return span{}, false
	}
	return span{v, vEnd}, true
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
	if i > 0 && letters[s[i-1]] {
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
	if s[i] != ' ' {
		return span{}, false
	}
	for i < len(s) && s[i] == ' ' {
		i++
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

// isBasicCredential reports whether t is base64 of "user:password".
func isBasicCredential(t string) bool {
	if len(t) > 128 {
		return true // too long to be prose; decoding it would cost more than it proves
	}
	var buf [96]byte
	n, err := base64.StdEncoding.Decode(buf[:], unsafe.Slice(unsafe.StringData(t), len(t)))
	if err != nil {
		return false
	}
	ok := strings.IndexByte(string(buf[:n]), ':') >= 0
	clear(buf[:n])
	return ok
}
