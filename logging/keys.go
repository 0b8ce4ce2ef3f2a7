package logging

import "sync/atomic"

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
	// first marks the key bytes that fold to the first byte of a word:
	// no word can start before the first of them.
	first [256]bool
	pairs bool     // some word has two bytes only
	allow []string // normalized keys exempt from matching
	// seen remembers verdicts on attribute keys, which are few and come
	// back on every record: see secretKey.
	seen [keyCacheSize]atomic.Pointer[keyVerdict]
}

// keyCacheSize is how many attribute keys a matcher remembers, and
// maxCachedKey the longest it remembers, so the memory a matcher holds is
// bounded whatever keys it is given.
const (
	keyCacheSize = 256
	maxCachedKey = 46 // a keyVerdict fills a 48-byte allocation
)

// secretKey is match for attribute and group names, which are few and
// come back on every record: a remembered verdict costs a hash of three
// bytes and a comparison, about half what matching costs.
func (m *keyMatcher) secretKey(key string) bool {
	if v := m.seen[keySlot(key, 0)].Load(); v != nil && v.is(key) {
		return v.secret
	}
	return m.secretKeySlow(key)
}

// secretKeySlow looks in a key's second slot, and failing that matches
// it and remembers the verdict in a free slot. A slot is filled once and
// never replaced, so the cache stops allocating when its slots are full,
// never allocates for a key it has seen, and cannot thrash; a key that
// finds both its slots taken by others is matched every time, as if there
// were no cache. Entries are compared by content, never by address, so a
// verdict cannot be applied to a different key.
func (m *keyMatcher) secretKeySlow(key string) bool {
	if len(key) == 0 || len(key) > maxCachedKey {
		return m.match(key)
	}
	s1, s2 := &m.seen[keySlot(key, 0)], &m.seen[keySlot(key, 1)]
	v2 := s2.Load()
	if v2 != nil && v2.is(key) {
		return v2.secret
	}
	secret := m.match(key)
	v1 := s1.Load()
	if v1 == nil || v2 == nil {
		v := &keyVerdict{n: uint8(len(key)), secret: secret}
		copy(v.key[:], key)
		// Losing a race to another key only leaves this one unremembered.
		if v1 != nil || !s1.CompareAndSwap(nil, v) {
			s2.CompareAndSwap(nil, v)
		}
	}
	return secret
}

// keySlot picks slot way (0 or 1) of seen for key from its length and its
// first, middle and last bytes: cheap, and enough to tell apart the
// handful of keys an application logs. A collision only costs a match.
func keySlot(key string, way uint) uint {
	x := uint64(len(key))
	if n := len(key); n > 0 {
		x |= uint64(key[0])<<8 | uint64(key[n/2])<<16 | uint64(key[n-1])<<24
	}
	x *= 0x9E3779B97F4A7C15
	return uint(x>>(56-8*way)) % keyCacheSize
}

// keyVerdict is a remembered match result. It is never modified once
// published, so readers need no lock. It holds a copy of the key, in the
// same allocation so that a lookup reads one object, and never a
// reference to the caller's key, which may sit in a larger buffer.
type keyVerdict struct {
	n      uint8
	secret bool
	key    [maxCachedKey]byte
}

func (v *keyVerdict) is(key string) bool {
	return int(v.n) == len(key) && string(v.key[:v.n]) == key
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
		for c := range 256 {
			if fold[c] == n[0] {
				m.first[c] = true
			}
		}
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
	// Skip what cannot start a word, cheaply: keys in text are often
	// numbers ("10.0.0.1:8080", "12:30").
	i := 0
	for i < len(key) && !m.first[key[i]] {
		i++
	}
	var a, b byte // the two normalized bytes before key[i]
	for ; i < len(key); i++ {
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
