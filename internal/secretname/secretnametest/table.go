// Package secretnametest holds the table of names every user of the
// secret-name rule tests itself against (config's name rule, the log
// redactor's keys, the request logger's headers and parameters), so the
// three stay one rule.
package secretnametest

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Verdicts a Case can carry.
const (
	Secret  = "secret"  // a credential name: every user must match it
	Plain   = "plain"   // not a credential: no user may match it
	Request = "request" // plain by the default words, secret as a header or parameter name
)

// A Case is one row of the table.
type Case struct {
	Verdict string
	Name    string
}

// SecretFor reports whether the name must match for a user of the default
// words (request false) or of secretname.Request (request true).
func (c Case) SecretFor(request bool) bool {
	return c.Verdict == Secret || request && c.Verdict == Request
}

// Cases reads the table, testdata/names.txt beside the secretname package.
func Cases(t testing.TB) []Case {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the name table")
	}
	f, err := os.Open(filepath.Join(filepath.Dir(file), "..", "testdata", "names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		verdict, name, ok := strings.Cut(text, "\t")
		if !ok || name == "" || verdict != Secret && verdict != Plain && verdict != Request {
			t.Fatalf("names.txt:%d: want a verdict, a tab and a name", line)
		}
		cases = append(cases, Case{verdict, name})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("the name table has %d rows: it says little", len(cases))
	}
	return cases
}

// Fragments are pieces of names that land near every edge of the rule:
// word parts, separators, case changes, digits, qualifiers and bytes
// outside ASCII.
var Fragments = []string{
	"pass", "word", "Pwd", "pwd", "tok", "en", "s", "api", "_", "-", ".", "Key", "SECRET", "x", "9",
	"10", "1.2", ":", "sess", "ion", "jw", "t", "cookie", "é", "\xff", "P", "in", "max", "count",
	"go", "z", "ab", "Id", "ttl", "name", "a", "B", "auth", "or", "db", "sid",
}

// RandomNames returns n names made of one to six Fragments each, the same
// for the same seed.
func RandomNames(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed+1))
	names := make([]string, n)
	for i := range names {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(Fragments[r.IntN(len(Fragments))])
		}
		names[i] = b.String()
	}
	return names
}
