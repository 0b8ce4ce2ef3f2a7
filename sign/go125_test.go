//go:build go1.25 && unix

package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// wipeCachedScalar relies on crypto/ecdsa's PrivateKey.Bytes returning
// the slice of the FIPS key it cached for the PrivateKey, not a copy:
// wiping it then wipes the cache. If a Go release starts copying, this
// fails and the README's claim must change.
func TestTheCachedScalarIsWiped(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := priv.Bytes()
	if &a[0] != &b[0] {
		t.Fatal("crypto/ecdsa's PrivateKey.Bytes now returns a copy: wipeCachedScalar no longer reaches the cached scalar")
	}
	wipeCachedScalar(priv)
	for _, c := range a {
		if c != 0 {
			t.Fatal("wipeCachedScalar left the cached scalar")
		}
	}
}

// Why this package signs Ed25519 itself: crypto/ed25519 kills the
// process when the key is in protected memory (its key cache takes a weak
// pointer to the key, which the runtime cannot make outside the Go heap).
// The test runs that in a child, which must die of it; if it ever stops
// dying, crypto/ed25519 may have become usable here.
func TestCryptoEd25519CannotSignFromACell(t *testing.T) {
	if os.Getenv("SECRETMEM_ED25519_CHILD") == "1" {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		v, err := secret.New(priv)
		if err != nil {
			os.Exit(3)
		}
		_ = v.Use(func(b []byte) error {
			_ = ed25519.Sign(ed25519.PrivateKey(b), []byte("m"))
			return nil
		})
		os.Exit(0)
	}
	if secret.Stats().Backend == "heap" {
		t.Skip("the heap backend keeps cells on the Go heap, where crypto/ed25519 works")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCryptoEd25519CannotSignFromACell$")
	cmd.Env = append(os.Environ(), "SECRETMEM_ED25519_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("crypto/ed25519 signed from a cell: reconsider signing with it")
	}
	if !strings.Contains(string(out), "getWeakHandle on invalid pointer") {
		t.Fatalf("the child failed otherwise (%v): %.300s", err, out)
	}
}
