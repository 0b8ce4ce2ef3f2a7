// Package jwt signs and verifies JSON Web Tokens (RFC 7519) whose keys
// stay in protected memory: HS256 and HS512 with a secret read through a
// secret.Source, EdDSA (Ed25519, RFC 8037) with a private key in cells or
// a public key.
//
//	key, err := jwt.HMACKey(jwt.HS256, "2025-01", cfg, "jwt.secret")
//	tok, err := key.Sign(map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
//
//	v, err := jwt.NewVerifier(jwt.Options{Issuer: "https://auth.example.com/", Audience: "api"}, key)
//	claims, err := v.Verify(token)
//
// package middleware's RequireJWT checks bearer tokens with a Verifier.
//
// Verification refuses, with an error for errors.Is that never quotes the
// token: "alg": "none" and every algorithm but HS256, HS512 and EdDSA; a
// token whose algorithm is not its key's (each Key is pinned to one, so an
// HS256 token is never checked with an EdDSA public key's bytes as the
// HMAC secret); a "kid" no key has; a "crit" header; tokens over
// Options.MaxSize (8 KiB); anything that is not three base64url parts
// (padding, line breaks and non-canonical encodings included) holding
// JSON objects, with a claim named twice; an expired token, one not
// valid yet (with Options.Leeway either way; a fractional "nbf" rounds
// up and "exp" down, toward refusal), one without "exp" (unless
// AllowNoExpiry), one of another issuer, and one whose "aud" does not
// name Options.Audience (or that names an audience when the Verifier has
// none, as RFC 7519 requires). Keys a token carries ("jwk", "jku",
// "x5u") are never used.
//
// Keys refuse what would make forgery easy: an HMAC secret shorter than
// RFC 7518 allows, when the key is made and after every rotation (the
// key then fails closed); an Ed25519 public key of small order (32 zero
// bytes is one), against which crypto/ed25519 accepts forged signatures.
//
// For HS256 and HS512 the HMAC runs with its key's midstates in a cell,
// and the token's signature is decoded into scratch memory and compared
// with it there, in constant time, the scratch wiped with the stack
// before Verify returns: the expected signature never exists on the heap,
// and no table is indexed by its bits. An EdDSA signature is decoded and checked on a
// stack that is wiped. The token itself may be a slice of a cell (what
// middleware.Token holds); only its header and claims are copied out.
//
// Verify reads the registered claims in one pass with a strict JSON
// reader of its own (encoding/json alone costs more than the whole
// verification may); Claims.Decode unmarshals custom claims with
// encoding/json when asked.
package jwt
