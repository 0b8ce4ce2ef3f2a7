package logging

// DefaultKeys returns the attribute keys redacted by default. A key matches
// when, after dropping everything but letters and digits and folding case,
// it contains one of these: "db_password", "DBPassword", "X-Api-Key" and
// "apiKey" all match. The result is a fresh slice; append to it to extend
// the defaults.
func DefaultKeys() []string {
	return []string{
		"password", "passwd", "pwd", "passphrase", "secret", "token",
		"api_key", "apikey", "access_key", "accountkey", "private_key",
		"signing_key", "encryption_key", "authorization", "cookie",
		"set-cookie", "credentials", "session", "bearer", "jwt",
	}
}

// keyMatcher finds configured key words inside attribute keys. Keys are
// short and most share no two-byte start with any word, so match rejects
// them in one pass without copying; only a possible match is normalized.
type keyMatcher struct {
	byFirst [256][]string // normalized words, indexed by their first byte
	// starts has a bit for the hash of the first three bytes of each word
	// (the first two for two-byte words, which set pairs too).
	starts [1 << 16 / 64]uint64
	pairs  bool     // some word has two bytes only
	allow  []string // normalized keys exempt from matching
}

// tri hashes up to three normalized bytes into the starts bitset; c is 0
// for a two-byte prefix.
func tri(a, b, c byte) uint32 {
	return (uint32(a)*0x9E3779B1 ^ uint32(b)*0x85EBCA77 ^ uint32(c)*0xC2B2AE3D) >> 16
}

const maxKeyBuf = 128

// fold maps a key byte to its normalized form: ASCII letters lowercased,
// digits and non-ASCII bytes kept, everything else dropped (0).
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

// newKeyMatcher compiles key words. Words shorter than two bytes after
// normalization would match almost every key and are ignored.
func newKeyMatcher(keys, allow []string) *keyMatcher {
	m := &keyMatcher{}
	for _, k := range keys {
		n := normalizeString(k)
		if len(n) < 2 {
			continue
		}
		m.byFirst[n[0]] = append(m.byFirst[n[0]], n)
		var p uint32
		if len(n) == 2 {
			p, m.pairs = tri(n[0], n[1], 0), true
		} else {
			p = tri(n[0], n[1], n[2])
		}
		m.starts[p/64] |= 1 << (p % 64)
	}
	for _, k := range allow {
		m.allow = append(m.allow, normalizeString(k))
	}
	return m
}

func normalizeKey(dst []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		if c := fold[key[i]]; c != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}

func normalizeString(s string) string { return string(normalizeKey(nil, s)) }

// match reports whether key names a secret.
func (m *keyMatcher) match(key string) bool {
	var a, b byte // the two normalized bytes before key[i]
	for i := 0; i < len(key); i++ {
		c := fold[key[i]]
		if c == 0 {
			continue
		}
		if a != 0 {
			if p := tri(a, b, c); m.starts[p/64]&(1<<(p%64)) != 0 {
				return m.matchSlow(key)
			}
		}
		if m.pairs && b != 0 {
			if p := tri(b, c, 0); m.starts[p/64]&(1<<(p%64)) != 0 {
				return m.matchSlow(key)
			}
		}
		a, b = b, c
	}
	return false
}

func (m *keyMatcher) matchSlow(key string) bool {
	var buf [maxKeyBuf]byte
	var n []byte
	if len(key) <= maxKeyBuf {
		n = normalizeKey(buf[:0], key)
	} else {
		n = normalizeKey(make([]byte, 0, len(key)), key)
	}
	for _, a := range m.allow {
		if string(n) == a {
			return false
		}
	}
	for i := range n {
		for _, w := range m.byFirst[n[i]] {
			if len(n)-i >= len(w) && string(n[i:i+len(w)]) == w {
				return true
			}
		}
	}
	return false
}
