package secretname_test

import (
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/secretname"
	"github.com/secretmem/secretmem/internal/secretname/secretnametest"
	"github.com/secretmem/secretmem/internal/testalloc"
)

func TestTheNameTable(t *testing.T) {
	def, req := secretname.Compile(secretname.Default()), secretname.Compile(secretname.Request())
	for _, c := range secretnametest.Cases(t) {
		for _, u := range []struct {
			what    string
			words   []string
			m       *secretname.Matcher
			request bool
		}{
			{"the default words", secretname.Default(), def, false},
			{"the request words", secretname.Request(), req, true},
		} {
			want := c.SecretFor(u.request)
			if got := secretname.Match(u.words, c.Name); got != want {
				t.Errorf("%s: Match(%q) = %v, want %v", u.what, c.Name, got, want)
			}
			if got := u.m.Match(c.Name); got != want {
				t.Errorf("%s: compiled Match(%q) = %v, want %v", u.what, c.Name, got, want)
			}
		}
	}
}

// TestCompiledAgreesWithMatch holds the fast path to the plain rule over
// names built from fragments of words, qualifiers and separators.
func TestCompiledAgreesWithMatch(t *testing.T) {
	words := append(secretname.Request(), "x9", "=z", "=ab")
	m := secretname.Compile(words)
	matched := 0
	for _, name := range secretnametest.RandomNames(1, 50000) {
		want := secretname.Match(words, name)
		if got := m.Match(name); got != want {
			t.Fatalf("compiled Match(%q) = %v, Match says %v", name, got, want)
		}
		if want {
			matched++
		}
	}
	if matched < 5000 || matched > 45000 {
		t.Fatalf("%d of 50000 generated names match: the test says little", matched)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"api_key": "apikey", "X-Api-Key": "xapikey", "=Key": "=key", "=": "", "": "",
		"x": "", "=x": "=x", "-": "", "é_pw": "é" + "pw",
	} {
		if got := secretname.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWordsShorterThanTwoMatchNothing(t *testing.T) {
	for _, name := range []string{"x", "ax", "max", "x_y"} {
		if secretname.Match([]string{"x", "-", ""}, name) || secretname.Compile([]string{"x"}).Match(name) {
			t.Errorf("a one-letter word matched %q", name)
		}
	}
	if !secretname.Match([]string{"=x"}, "X") || !secretname.Compile([]string{"=x"}).Match("X") {
		t.Error("an exact one-letter word does not match its name")
	}
}

func TestMatchingAllocatesNothing(t *testing.T) {
	words := secretname.Default()
	m := secretname.Compile(words)
	names := []string{"db_password", "max_tokens", "X-Vault-Token", "method", strings.Repeat("a", 120) + "token"}
	allocs := testalloc.PerRun(100, func() {
		for _, n := range names {
			secretname.Match(words, n)
			m.Match(n)
		}
	})
	if allocs != 0 {
		t.Fatalf("matching cost %v allocations, want 0", allocs)
	}
}

func TestLongNamesMatch(t *testing.T) {
	long := strings.Repeat("x_", 300) + "password"
	if !secretname.Match(secretname.Default(), long) || !secretname.Compile(secretname.Default()).Match(long) {
		t.Error("a name over 128 bytes ending in password does not match")
	}
}

func BenchmarkMatcher(b *testing.B) {
	m := secretname.Compile(secretname.Default())
	names := []string{"method", "path", "status", "elapsed", "user_agent", "db_password", "max_tokens", "X-Vault-Token"}
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range names {
			m.Match(n)
		}
	}
}
