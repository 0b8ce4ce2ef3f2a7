package config

import (
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/secretname/secretnametest"
)

// TestTheNameRuleIsTheSharedRule runs the table logging and middleware run
// too: one rule decides what is secret across the toolkit. Names with a
// dot are levels of more than one key here, and skipped.
func TestTheNameRuleIsTheSharedRule(t *testing.T) {
	for _, c := range secretnametest.Cases(t) {
		if strings.Contains(c.Name, ".") {
			continue
		}
		if got, want := nameRule(defaultSecretNames, c.Name), c.SecretFor(false); got != want {
			t.Errorf("nameRule(%q) = %v, want %v", c.Name, got, want)
		}
		if got, want := nameRule(normalizeNames(DefaultSecretNames()), "svc."+c.Name), c.SecretFor(false); got != want {
			t.Errorf("with normalized words, nameRule(%q) = %v, want %v", "svc."+c.Name, got, want)
		}
	}
}
