package logging

import "testing"

// BenchmarkKeyMatch is matching without the verdict cache: keys in log
// text, and keys past the cache's capacity.
func BenchmarkKeyMatch(b *testing.B) {
	m := newKeyMatcher(DefaultKeys(), nil)
	keys := []string{"method", "path", "status", "elapsed", "remote", "user_agent", "bytes", "err",
		"db_password", "X-Api-Key", "request_id", "10.1.2.3", "max_tokens", "X-Vault-Token"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			m.match(k)
		}
	}
}

// BenchmarkSecretKey is the cached path Handle takes for attribute keys.
func BenchmarkSecretKey(b *testing.B) {
	c := compile(nil)
	keys := []string{"method", "path", "status", "elapsed", "remote", "user_agent", "bytes", "err"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			c.key(k)
		}
	}
}
