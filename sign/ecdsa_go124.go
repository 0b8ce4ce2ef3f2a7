//go:build !go1.25

package sign

import "crypto/ecdsa"

// wipeCachedScalar can do nothing with Go 1.24: its crypto/ecdsa converts
// the key at each signature (D.Bytes(), and the FIPS 140 key's own copy)
// into heap slices it drops, and nothing reaches them.
func wipeCachedScalar(*ecdsa.PrivateKey) {}
