//go:build go1.25

package sign

import "crypto/ecdsa"

// wipeCachedScalar wipes the scalar crypto/ecdsa converted priv to and
// cached for it (a FIPS 140 key, under a weak pointer to priv): Bytes
// returns that key's own slice, not a copy.
func wipeCachedScalar(priv *ecdsa.PrivateKey) {
	if b, err := priv.Bytes(); err == nil {
		clear(b)
	}
}
