package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/secretname/secretnametest"
)

// TestHeaderAndParameterNamesFollowTheSharedTable runs the table config
// and logging run too: the request logger never prints a header, and
// redacts a query parameter, exactly when the shared rule (with its
// request fragments) calls the name secret.
func TestHeaderAndParameterNamesFollowTheSharedTable(t *testing.T) {
	for _, c := range secretnametest.Cases(t) {
		want := c.SecretFor(true)
		if !strings.ContainsAny(c.Name, "._") {
			h := http.CanonicalHeaderKey(c.Name)
			if got := sensitiveHeader(h, nil); got != want {
				t.Errorf("header %s: never logged is %v, want %v", h, got, want)
			}
		}
		const v = "Zq7Rr2Vw9"
		q := redactQuery(url.Values{c.Name: {v}}.Encode(), nil)
		if redacted := !strings.Contains(q, v); redacted != want {
			t.Errorf("query parameter %q: redacted %v, want %v", c.Name, redacted, want)
		}
	}
}
