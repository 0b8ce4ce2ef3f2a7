package logging

import (
	"sync/atomic"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/internal/secretname"
)

// DefaultKeys returns the words that mark an attribute key as secret by
// default: the toolkit's one list, which config's name rule and the
// request logger use too. A key is read as words ("db_password",
// "DBPassword", "X-Api-Key" and "apiKey" all hold one), and a word of six
// letters or more matches anywhere in it, a shorter one only where it (or
// its plural) ends a word of the key: "access_token" and "X-Auth-Token"
// match, "tokenizer" does not. A word starting with "=" must be the whole
// key ("=key" matches "key" and "KEY", not "cache_key"), and one starting
// with "~" a whole word of it ("~pass" matches "db_pass" and "DBPass", not
// "bypass"). A match the key
// qualifies as data about a credential is not one: "token_count",
// "max_tokens", "password_length" and a file name such as "tokens.go" are
// plain. The result is a fresh slice; append to it to extend the
// defaults.
func DefaultKeys() []string { return secretname.Default() }

// keyMatcher decides which attribute keys are secret: secretname's rule,
// with an allow list, and a cache of verdicts for the few keys that come
// back on every record.
type keyMatcher struct {
	words *secretname.Matcher
	allow []string // folded keys exempt from matching
	// seen remembers verdicts on attribute keys, which are few and come
	// back on every record: see secretKey.
	seen [keyCacheSize]atomic.Pointer[keyVerdict]
}

// keyCacheSize is how many attribute keys a matcher remembers, and
// maxCachedKey the longest it remembers, so the memory a matcher holds is
// bounded whatever keys it is given.
const (
	keyCacheSize = 256
	maxCachedKey = 46 // with n and secret, 48 bytes; clean makes it 56
)

// lookup returns the remembered verdict on key (nil for a key that is not
// remembered) and whether key names a secret.
func (m *keyMatcher) lookup(key string) (*keyVerdict, bool) {
	v := m.seen[keySlot(key, 0)].Load()
	if v != nil && v.is(key) {
		return v, v.secret
	}
	// Slots are filled first-slot-first and never emptied: a key whose
	// first slot is empty is in neither.
	if v != nil && len(key) > 0 && len(key) <= maxCachedKey {
		if v := m.seen[keySlot(key, 1)].Load(); v != nil && v.is(key) {
			return v, v.secret
		}
	}
	return nil, m.match(key)
}

// remember stores the verdict secret on key in a free slot of its two. A
// slot is filled once and never replaced, so the cache stops allocating
// when its slots are full, never allocates for a key it has seen, and
// cannot thrash; a key that finds both its slots taken by others is
// matched every time, as if there were no cache. Entries are compared by
// content, never by address, so a verdict cannot be applied to a
// different key. The entry holds a copy of the key: callers remember only
// keys whose text holds no secret.
func (m *keyMatcher) remember(key string, secret bool) *keyVerdict {
	if len(key) == 0 || len(key) > maxCachedKey {
		return nil
	}
	s1, s2 := &m.seen[keySlot(key, 0)], &m.seen[keySlot(key, 1)]
	v1, v2 := s1.Load(), s2.Load()
	if v1 != nil && v2 != nil {
		return nil
	}
	v := &keyVerdict{n: uint8(len(key)), secret: secret}
	copy(v.key[:], key)
	// Losing a race to another key only leaves this one unremembered.
	if v1 == nil && s1.CompareAndSwap(nil, v) || v2 == nil && s2.CompareAndSwap(nil, v) {
		return v
	}
	return nil
}

// key returns the text to print for an attribute key or group name, and
// whether the name is secret. A key can hold a secret itself (a token
// used as a map key, a live secret pasted into a group name), so its text
// is redacted like any string; that it needs no redaction is remembered
// with the verdict until a new secret goes live.
func (c *compiled) key(k string) (text string, secretName, changed bool) {
	v, secretName := c.keys.lookup(k)
	if v != nil && len(k) < c.minText {
		return k, secretName, false
	}
	g := fingerprint.Generation() + 1
	if v != nil && v.clean.Load() == g {
		return k, secretName, false
	}
	text = k
	if len(k) >= c.minText {
		text, changed = c.text(k)
	}
	if changed {
		return text, secretName, true // never remembered: the entry would copy the secret
	}
	if v == nil {
		v = c.keys.remember(k, secretName)
	}
	if v != nil {
		v.clean.Store(g)
	}
	return k, secretName, false
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
	// clean is fingerprint.Generation()+1 when the key's text was last
	// found to need no redaction, 0 before.
	clean atomic.Uint64
}

func (v *keyVerdict) is(key string) bool {
	return int(v.n) == len(key) && string(v.key[:v.n]) == key
}

// newKeyMatcher compiles key words (see DefaultKeys for how they match)
// and the keys exempt from them.
func newKeyMatcher(keys, allow []string) *keyMatcher {
	m := &keyMatcher{words: secretname.Compile(keys)}
	for _, k := range allow {
		m.allow = append(m.allow, secretname.Fold(k))
	}
	return m
}

// match reports whether key names a secret.
func (m *keyMatcher) match(key string) bool {
	return m.words.Match(key) && !m.allowed(key)
}

func (m *keyMatcher) allowed(key string) bool {
	if len(m.allow) == 0 {
		return false
	}
	f := secretname.Fold(key)
	for _, a := range m.allow {
		if f == a {
			return true
		}
	}
	return false
}

// maxKeyBuf is the longest key in log text that keyValue reads back from
// a '=' or ':'.
const maxKeyBuf = 128
