// Package secretname decides whether a name names a credential: a level
// of a configuration key, a log attribute key, an HTTP header or a query
// parameter. config, logging and middleware share its word list and its
// one rule, so the toolkit gives one answer to "is this secret?".
//
// # The rule
//
// A name is read as words: it is split at every byte that is not an ASCII
// letter or digit, where lower case turns to upper case ("apiKey"), before
// the last capital of a run followed by lower case ("DBPassword"), and
// between letters and digits. Letters are folded to lower case and the
// separators dropped ("X-Api-Key" reads "xapikey", words x, api, key), so
// a word of the list may span words of the name. Bytes outside ASCII are
// kept as letters.
//
// A word of the list matches a name
//
//   - "=word": when the whole folded name is the word ("=key" matches
//     "key" and "KEY", not "cache_key");
//   - "~word": where it is a whole word of the name ("~pass" matches
//     "pass", "db_pass", "DBPass" and "smtp.pass", not "bypass" or
//     "passport");
//   - a word of six letters or more ("password", "secret", "api_key"):
//     anywhere ("dbpassword", "client_secret", "X-Api-Key");
//   - a shorter word ("token", "pwd", "jwt"): where it, or its plural in
//     "s", ends a word of the name ("access_token", "accesstoken",
//     "X-Auth-Token", "tokens"), not inside one ("tokenizer");
//
// unless the name qualifies that match as data about a credential rather
// than the credential itself: the word right after it is a measure or an
// attribute of it (count, limit, type, length, expiry, ttl, url, name,
// header, a source file extension...), or the word right before it is a
// measure or a flag (max, total, prompt, input, output, has, is...). So
// "token_count", "max_tokens", "prompt_tokens", "password_length",
// "secret_name" and "tokens.go" are plain; "session_id", "client_secret"
// and "X-Vault-Token" are not. Inside a word the rest of the word counts
// as the word before or after ("maxtokens", "passwordlength").
//
// The rule errs on the side of protection: a plain value mistaken for a
// secret is redacted and easy to exempt; a secret mistaken for a plain
// value leaks.
package secretname

// Default returns the default word list: what config's name rule, the log
// redactor's key matching and the request logger's header and parameter
// filter all start from. The result is a fresh slice.
func Default() []string { return append([]string(nil), defaultWords...) }

// Request returns Default plus the short fragments that, in an HTTP header
// or query parameter name, mark a credential ("X-Custom-Auth", "sig",
// "code" for OAuth authorization codes, "key" for ?key=AIza...). They are
// too common in other names to be defaults everywhere. The result is a
// fresh slice.
func Request() []string {
	return append(Default(), requestWords...)
}

var defaultWords = []string{
	"password", "passwd", "pwd", "passphrase", "secret", "token",
	"api_key", "access_key", "account_key", "private_key", "signing_key",
	"encryption_key", "session_key", "master_key", "auth_key", "cookie_key",
	"authorization", "credential", "cookie", "session", "sid", "bearer", "jwt",
	"dsn", "connection_string", "database_url", "salt", "pepper",
	"=key", "~pass", "=pin", "=otp",
}

var requestWords = []string{
	"auth", "key", "pass", "sess", "sessid", "sig", "signature", "cred",
	"otp", "code", "private", "csrf", "xsrf",
}

// shortWord is the longest word that must end a word of the name to match.
const shortWord = 5

// after holds the words that, right after a match, make it data about a
// credential; before, the words that do so right before it. Both are
// folded.
var after = setOf(
	"count", "counts", "limit", "limits", "max", "min",
	"total", "size", "len", "length", "type", "types", "kind", "format",
	"usage", "used", "remaining", "expiry", "expires", "expired",
	"expiration", "exp", "timeout", "lifetime", "duration", "age",
	"url", "uri", "endpoint", "path", "name", "names", "header", "policy",
	"required", "enabled", "disabled", "valid", "version",
	// Source and data file extensions: "tokens.go:42" in a stack trace.
	"go", "py", "js", "mjs", "ts", "rb", "java", "kt", "rs", "c", "cc",
	"cpp", "h", "hpp", "cs", "php", "swift", "scala", "sh", "yaml", "yml",
	"json", "toml",
)

var before = setOf(
	"max", "min", "num", "total", "prompt", "completion", "input", "output",
	"cached", "reasoning", "has", "is", "use", "uses", "enable", "require",
	"allow",
)

// wordSet is a small set of short words, looked up without hashing: the
// words of each length, compared byte by byte. The sets above hold a few
// dozen words, so this beats a map on the matcher's slow path.
type wordSet [16][]string

func setOf(words ...string) *wordSet {
	var s wordSet
	for _, w := range words {
		s[len(w)] = append(s[len(w)], w)
	}
	return &s
}

func (s *wordSet) has(w []byte) bool {
	if len(w) == 0 || len(w) >= len(s) {
		return false
	}
	for _, x := range s[len(w)] {
		if x[0] == w[0] && string(w) == x {
			return true
		}
	}
	return false
}

// Normalize returns the form a word is matched in: folded as names are,
// with a leading "=" or "~" kept. It returns "" for a word that matches
// nothing: empty, or one letter or digit without "=" (it would match
// almost every name).
func Normalize(word string) string {
	mark := ""
	if len(word) > 0 && (word[0] == '=' || word[0] == '~') {
		mark, word = word[:1], word[1:]
	}
	f := Fold(word)
	switch {
	case f == "":
		return ""
	case mark == "=":
		return "=" + f
	case len(f) < 2:
		return ""
	}
	return mark + f
}

// wordKind is how a word of the list must sit in a name to match.
type wordKind uint8

const (
	anywhere wordKind = iota // the rule for plain words: by length
	exact                    // "=word": the whole name
	whole                    // "~word": a whole word of the name
)

// cutKind splits a word of the list into its kind and the word.
func cutKind(w string) (wordKind, string) {
	if len(w) > 0 {
		switch w[0] {
		case '=':
			return exact, w[1:]
		case '~':
			return whole, w[1:]
		}
	}
	return anywhere, w
}

// Fold returns name as the rule compares it: ASCII letters in lower case,
// digits and non-ASCII bytes kept, everything else dropped.
func Fold(name string) string {
	var buf [maxStack]byte
	return string(appendFold(buf[:0], name))
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := fold[s[i]]; c != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}

// fold maps a byte to its folded form, 0 for a separator.
var fold = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 0x80:
			t[c] = byte(c)
		}
	}
	return t
}()

// Match reports whether name is secret by words, which may be spelled in
// any form Normalize accepts ("api_key", "X-Api-Key", "=key"). It is the
// rule in its plain form, for callers that match a name against a list
// once; Compile makes a Matcher for lists used many times. It allocates
// nothing for names up to 128 bytes.
func Match(words []string, name string) bool {
	var sc scratch
	n := foldName(name, &sc)
	var wb [maxStack]byte
	for _, w := range words {
		k, w := cutKind(w)
		// Grows past wb only for a word over maxStack bytes.
		f := appendFold(wb[:0], w)
		if len(f) == 0 || k != exact && len(f) < 2 {
			continue
		}
		if matchWord(&n, string(f), k) {
			return true
		}
	}
	return false
}

// maxStack is the longest name (and word) matched without allocating.
const maxStack = 128

// folded is a name read for the rule: its folded bytes and where its
// words start.
type folded struct {
	b      []byte
	starts []uint64 // bit i: a word starts at b[i]
}

// scratch is the memory folding a name of up to maxStack bytes takes,
// kept on the caller's stack.
type scratch struct {
	b      [maxStack]byte
	starts [maxStack / 64]uint64
}

// foldName reads name for the rule, into s when it fits.
func foldName(name string, s *scratch) folded {
	f := folded{b: s.b[:0], starts: s.starts[:]}
	if len(name) > maxStack {
		f.b = make([]byte, 0, len(name))
		f.starts = make([]uint64, (len(name)+63)/64)
	}
	clear(f.starts)
	prev := sep
	for i := 0; i < len(name); i++ {
		c := name[i]
		k := class[c]
		if k == sep {
			prev = sep
			continue
		}
		var start bool
		switch {
		case prev == sep:
			start = true
		case k == upper && prev != upper:
			start = true // apiKey, sha2Key
		case k == upper && i+1 < len(name) && class[name[i+1]] == lower:
			start = true // DBPassword: the P starts a word
		case (k == digit) != (prev == digit):
			start = true // oauth2token, token2
		}
		if start && len(f.b) > 0 {
			p := len(f.b)
			f.starts[p/64] |= 1 << (p % 64)
		}
		f.b = append(f.b, fold[c])
		prev = k
	}
	return f
}

// Byte classes for splitting a name into words; non-ASCII bytes count as
// lower-case letters.
const (
	sep uint8 = iota
	lower
	upper
	digit
)

var class = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 0x80:
			t[c] = lower
		case c >= 'A' && c <= 'Z':
			t[c] = upper
		case c >= '0' && c <= '9':
			t[c] = digit
		}
	}
	return t
}()

func (f *folded) isStart(i int) bool {
	return i == 0 || i < len(f.b) && f.starts[i/64]&(1<<(i%64)) != 0
}

// prevStart returns the last word start before i (0 if none).
func (f *folded) prevStart(i int) int {
	for j := i - 1; j > 0; j-- {
		if f.starts[j/64]&(1<<(j%64)) != 0 {
			return j
		}
	}
	return 0
}

// nextStart returns the first word start after i, or len(f.b).
func (f *folded) nextStart(i int) int {
	for j := i + 1; j < len(f.b); j++ {
		if f.starts[j/64]&(1<<(j%64)) != 0 {
			return j
		}
	}
	return len(f.b)
}

// matchWord applies the rule for one folded word w (without its mark).
func matchWord(n *folded, w string, k wordKind) bool {
	if k == exact {
		return string(n.b) == w
	}
	s := n.b
	for from := 0; from+len(w) <= len(s); {
		i := index(s[from:], w)
		if i < 0 {
			return false
		}
		i += from
		if matchAt(n, w, i, k) {
			return true
		}
		from = i + 1
	}
	return false
}

// matchAt applies the rule to an occurrence of w, of kind k (not exact),
// at n.b[i:].
func matchAt(n *folded, w string, i int, k wordKind) bool {
	s := n.b
	e := i + len(w)
	switch {
	case k == whole:
		if !n.isStart(i) || e != len(s) && !n.isStart(e) {
			return false
		}
	case len(w) <= shortWord:
		switch {
		case e == len(s) || n.isStart(e):
		case s[e] == 's' && (e+1 == len(s) || n.isStart(e+1)):
			e++
		default:
			return false
		}
	}
	if i > 0 && before.has(s[n.prevStart(i):i]) {
		return false
	}
	return e == len(s) || !after.has(s[e:n.nextStart(e)])
}

// index is strings.Index over bytes without converting either.
func index(s []byte, w string) int {
	if len(w) == 0 || len(w) > len(s) {
		return -1
	}
	c := w[0]
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i] == c && string(s[i:i+len(w)]) == w {
			return i
		}
	}
	return -1
}
