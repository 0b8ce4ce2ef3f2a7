// Package testsecret makes the secrets tests hand to the code under test.
// Only tests import it.
package testsecret

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// Marker returns prefix and 32 random hex digits: a secret that, wherever
// it shows up, can only have come from the test.
func Marker(t testing.TB, prefix string) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// Cell puts a copy of s, a string or bytes, in a cell that is destroyed
// when t ends. s itself is left as it was.
func Cell[S ~string | ~[]byte](t testing.TB, s S, opts ...secret.Option) secret.Value {
	t.Helper()
	v, err := secret.New(append([]byte(nil), s...), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	return v
}
