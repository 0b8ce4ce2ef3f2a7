package logging

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/secretmem/secretmem/internal/secretname"
	"github.com/secretmem/secretmem/internal/secretname/secretnametest"
	"github.com/secretmem/secretmem/internal/testalloc"
)

// referenceMatch is the definition match implements: the key is not
// allowed and secretname's rule matches it.
func referenceMatch(words, allow []string, key string) bool {
	for _, a := range allow {
		if secretname.Fold(key) == secretname.Fold(a) {
			return false
		}
	}
	return secretname.Match(words, key)
}

func secretName(c *compiled, k string) bool {
	_, s, _ := c.key(k)
	return s
}

// TestASecretKeyIsNeverRemembered: the cache holds a copy of each key it
// remembers, so a key whose text holds a live secret is not remembered.
func TestASecretKeyIsNeverRemembered(t *testing.T) {
	m := liveSecret(t)
	c := compile(nil)
	for range 3 {
		if text, _, changed := c.key(m); !changed || strings.Contains(text, m) {
			t.Fatal("a live secret used as a key was not redacted")
		}
	}
	for i := range c.keys.seen {
		if v := c.keys.seen[i].Load(); v != nil && string(v.key[:v.n]) == m {
			t.Fatal("the verdict cache holds a copy of the secret")
		}
	}
}

func TestMatchAgreesWithTheDefinition(t *testing.T) {
	words := append(DefaultKeys(), "pin", "x9")
	allow := []string{"max_tokens", "db-password"}
	m := newKeyMatcher(words, allow)
	matched := 0
	for _, key := range secretnametest.RandomNames(2, 20000) {
		want := referenceMatch(words, allow, key)
		if got := m.match(key); got != want {
			t.Fatalf("match(%q) = %v, want %v", key, got, want)
		}
		if want {
			matched++
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d of the generated keys match: the test says little about matches", matched)
	}
}

// TestKeysFollowTheSharedTable runs the table config and middleware run
// too, on attribute keys, on WithGroup names and on keys inside text.
func TestKeysFollowTheSharedTable(t *testing.T) {
	c := compile(nil)
	for _, tc := range secretnametest.Cases(t) {
		want := tc.SecretFor(false)
		if got := secretName(c, tc.Name); got != want {
			t.Errorf("key(%q) names a secret: %v, want %v", tc.Name, got, want)
		}
		const v = "Zq7Rr2Vw9"
		for _, text := range []string{tc.Name + "=" + v, `"` + tc.Name + `": "` + v + `"`, "at " + tc.Name + ":" + v} {
			out, _ := c.text(text)
			if redacted := !strings.Contains(out, v); redacted != want {
				t.Errorf("in %q the value was redacted: %v, want %v", text, redacted, want)
			}
		}
	}
}

func TestSecretKeyAgreesWithMatch(t *testing.T) {
	keys := []string{
		"", "method", "password", "db_password", "X-Api-Key", "apiKey", "max_tokens",
		"user_agent", "Authorization", "session_id", "10.1.2.3", "jwt", "JWT", "é_password",
		strings.Repeat("a", maxCachedKey), strings.Repeat("a", maxCachedKey-5) + "token",
		strings.Repeat("a", maxCachedKey+1), strings.Repeat("x", 200) + "secret",
	}
	c := compile(&RedactOptions{AllowKeys: []string{"max_tokens"}})
	for round := range 3 { // the first sight of each key, then remembered verdicts
		for _, k := range keys {
			if got, want := secretName(c, k), c.keys.match(k); got != want {
				t.Errorf("round %d: key(%q) names a secret: %v, match says %v", round, k, got, want)
			}
		}
	}
}

func TestKeysThatShareSlotsGetTheirOwnVerdicts(t *testing.T) {
	// Same length and the same first, middle and last bytes: the same two
	// slots, so only a comparison of the whole key tells them apart.
	secretKey, plainKey := "a_token_z", "a_xxkxx_z"
	for way := range uint(2) {
		if keySlot(secretKey, way) != keySlot(plainKey, way) {
			t.Fatal("the keys no longer share their slots: pick two that do")
		}
	}
	for _, order := range [][]string{{secretKey, plainKey}, {plainKey, secretKey}} {
		c := compile(nil)
		for range 2 {
			for _, k := range order {
				if got, want := secretName(c, k), k == secretKey; got != want {
					t.Errorf("after %q, secretKey(%q) = %v, want %v", order[0], k, got, want)
				}
			}
		}
	}
}

func TestKeyCacheStopsGrowingWhenFull(t *testing.T) {
	c := compile(nil)
	m := c.keys
	r := rand.New(rand.NewPCG(3, 4))
	randomKey := func() string {
		b := make([]byte, 3+r.IntN(12))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz_0123456789"[r.IntN(37)]
		}
		return string(b)
	}
	full := func() bool {
		for i := range m.seen {
			if m.seen[i].Load() == nil {
				return false
			}
		}
		return true
	}
	for i := 0; !full(); i++ {
		if i > 100*keyCacheSize {
			t.Fatal("random keys did not fill every slot")
		}
		c.key(randomKey())
	}
	fresh := make([]string, 200)
	for i := range fresh {
		fresh[i] = randomKey() + strconv.Itoa(i)
	}
	i := 0
	allocs := testalloc.PerRun(100, func() {
		k := fresh[i%len(fresh)]
		i++
		if secretName(c, k) != m.match(k) {
			t.Errorf("key(%q) disagrees with match", k)
		}
	})
	if allocs != 0 {
		t.Fatalf("a full cache allocated %v times per new key, want 0", allocs)
	}
}

func TestSecretKeyIsSafeConcurrently(t *testing.T) {
	keys := []string{"method", "password", "user_agent", "api_key", "status", "session", "path", "token_count"}
	for i := range 300 {
		keys = append(keys, "key"+strconv.Itoa(i))
	}
	c := compile(nil)
	want := make([]bool, len(keys))
	for i, k := range keys {
		want[i] = c.keys.match(k)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 * len(keys) {
				i := (n*7 + g*13) % len(keys)
				if secretName(c, keys[i]) != want[i] {
					t.Errorf("key(%q) names a secret: not %v", keys[i], want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
