package vault

import (
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// cell returns a cell holding s, destroyed when t ends.
func cell(t *testing.T, s string) secret.Value {
	t.Helper()
	v, err := secret.FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	return v
}
