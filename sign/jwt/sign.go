package jwt

import (
	"crypto"
	"encoding/json"
	"fmt"

	"github.com/secretmem/secretmem/sign"
)

// Sign returns a token (compact serialisation) whose claims are claims
// marshalled by encoding/json (a struct with json tags, or a map), signed
// with k. Times are NumericDates, seconds since the epoch:
//
//	tok, err := key.Sign(map[string]any{
//		"sub": "alice",
//		"exp": time.Now().Add(time.Hour).Unix(),
//	})
//
// The header names the key's algorithm, "typ": "JWT", and the key's ID as
// "kid" if it has one. The HMAC or the Ed25519 signature is computed with
// the key in protected memory.
func (k *Key) Sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwt: the claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", fmt.Errorf("jwt: the claims must be a JSON object")
	}
	hdr := `{"alg":"` + string(k.alg) + `","typ":"JWT"`
	if k.id != "" {
		// JSON's escapes, not Go's: strconv.Quote writes \x00, which no
		// JSON reader accepts. The ID is UTF-8 (checked when the key was
		// made), so it comes back as it was.
		kid, _ := json.Marshal(k.id)
		hdr += `,"kid":` + string(kid)
	}
	hdr += "}"
	n := b64.EncodedLen(len(hdr)) + 1 + b64.EncodedLen(len(payload))
	tok := make([]byte, n, n+1+b64.EncodedLen(64))
	b64.Encode(tok, []byte(hdr))
	tok[b64.EncodedLen(len(hdr))] = '.'
	b64.Encode(tok[b64.EncodedLen(len(hdr))+1:], payload)
	var sig []byte
	switch k.alg {
	case HS256, HS512:
		var buf [64]byte
		sig, err = k.mac.Sum(buf[:0], tok)
	case EdDSA:
		if k.priv == nil {
			return "", fmt.Errorf("%w: a public key cannot sign", ErrKey)
		}
		var cur sign.PrivateKey
		if cur, err = k.priv.Current(); err == nil {
			// The source may have rotated to another kind of key, which
			// would sign the token as something else.
			if _, ok := cur.(*sign.Ed25519PrivateKey); !ok {
				return "", fmt.Errorf("%w: the key is no longer an Ed25519 key", ErrKey)
			}
			sig, err = cur.Sign(nil, tok, crypto.Hash(0))
		}
	default:
		// A Key not made by this package's constructors (its zero value)
		// would otherwise sign with an empty signature.
		return "", fmt.Errorf("%w: a zero Key (make keys with HMACKey, EdDSAKey or EdDSAPublicKey)", ErrKey)
	}
	if err != nil {
		return "", err
	}
	tok = append(tok, '.')
	tok = b64.AppendEncode(tok, sig)
	return string(tok), nil
}
