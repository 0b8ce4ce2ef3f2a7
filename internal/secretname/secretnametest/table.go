// Package secretnametest holds the table of names every user of the
// secret-name rule tests itself against (config's name rule, the log
// redactor's keys, the request logger's headers and parameters), so the
// three stay one rule.
package secretnametest

import (
	"bufio"
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
