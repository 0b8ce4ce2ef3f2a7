package sign

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/internal/pemblock"
	"github.com/secretmem/secretmem/secret"
)

// A PrivateKey is a private key held in protected memory: a crypto.Signer
// (for crypto/tls, for JWTs, for anything that takes one) whose secret
// never leaves its cells. Destroy wipes them; signing afterwards fails
// with secret.ErrDestroyed.
type PrivateKey interface {
	crypto.Signer
	Destroy()
}

// ErrKeyFormat reports a key this package cannot read. Its messages name
// the format, never the key's bytes.
var ErrKeyFormat = errors.New("sign: unsupported private key")

// maxDER bounds a key's DER encoding: a P-256 PKCS#8 key with its public
// key takes 138 bytes, an Ed25519 one 83; room for a 4096-bit RSA key
// lets its refusal say that it is one.
const maxDER = 4 << 10

var (
	oidEd25519  = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidEC       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidX25519   = asn1.ObjectIdentifier{1, 3, 101, 110}
	errRSA      = fmt.Errorf("%w: RSA keys are not supported (Go's RSA keeps the private exponent and primes in big.Ints on the heap; see the package documentation), use Ed25519 or ECDSA P-256", ErrKeyFormat)
	errNotASN1  = fmt.Errorf("%w: the DER encoding is malformed", ErrKeyFormat)
	errEncryped = fmt.Errorf("%w: the key is encrypted; decrypt it first (openssl pkey) and keep it in a secret file", ErrKeyFormat)
)

// ParsePrivateKey reads a private key from a cell and returns it in cells
// of its own: an Ed25519 key (*Ed25519PrivateKey) or an ECDSA P-256 key
// (*ECDSAPrivateKey), in PEM ("PRIVATE KEY", PKCS #8; "EC PRIVATE KEY",
// SEC 1) or the same in DER. Other PEM blocks in the cell (a certificate
// chain, say) are skipped. The key is decoded from base64 and parsed
// inside protected memory: no copy of it reaches the Go heap, and the
// stack the decoding used is wiped.
//
// RSA keys are refused: see the package documentation for why, and what
// they would cost.
func ParsePrivateKey(v secret.Value) (PrivateKey, error) {
	var key PrivateKey
	err := v.Use(func(b []byte) error {
		var err error
		key, err = parsePrivateKey(b)
		return err
	})
	return key, err
}

func parsePrivateKey(b []byte) (PrivateKey, error) {
	if len(b) > 0 && b[0] == 0x30 {
		return parseDER(b)
	}
	found := false
	for rest := b; ; {
		blk, next, ok, err := pemblock.Next(rest)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		rest = next
		switch string(blk.Label) {
		case "PRIVATE KEY", "EC PRIVATE KEY":
		case "ENCRYPTED PRIVATE KEY":
			return nil, errEncryped
		case "RSA PRIVATE KEY":
			return nil, errRSA
		case "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("%w: OpenSSH's key format; convert it to PKCS #8 (ssh-keygen -p -m PKCS8)", ErrKeyFormat)
		default:
			if bytes.HasSuffix(blk.Label, []byte("PRIVATE KEY")) {
				return nil, fmt.Errorf("%w: a %q PEM block", ErrKeyFormat, blk.Label)
			}
			continue
		}
		if found {
			return nil, fmt.Errorf("%w: the cell holds more than one private key", ErrKeyFormat)
		}
		found = true
		if blk.Headers {
			return nil, errEncryped
		}
		key, err := decodeAndParse(blk.Body)
		if err != nil {
			return nil, err
		}
		// Look for a second key before returning this one.
		for r := rest; ; {
			blk, next, ok, err := pemblock.Next(r)
			if err != nil || !ok {
				return key, nil
			}
			if bytes.HasSuffix(blk.Label, []byte("PRIVATE KEY")) {
				key.Destroy()
				return nil, fmt.Errorf("%w: the cell holds more than one private key", ErrKeyFormat)
			}
			r = next
		}
	}
	return nil, fmt.Errorf("%w: no PEM private key block (\"PRIVATE KEY\" or \"EC PRIVATE KEY\") and not DER", ErrKeyFormat)
}

// decodeAndParse decodes a PEM body into a scratch cell and parses it.
func decodeAndParse(body []byte) (PrivateKey, error) {
	if len(body)*3/4 > maxDER {
		return nil, fmt.Errorf("%w: the PEM block is too long for a private key", ErrKeyFormat)
	}
	scratch, err := secret.NewBox([maxDER]byte{})
	if err != nil {
		return nil, err
	}
	defer scratch.Destroy()
	var key PrivateKey
	err = scratch.Update(func(der *[maxDER]byte) error {
		var n int
		var err error
		keyed.Erase(func() { n, err = pemblock.Decode(der[:], body) })
		if err != nil {
			return fmt.Errorf("%w: %w", ErrKeyFormat, err)
		}
		key, err = parseDER(der[:n])
		return err
	})
	return key, err
}

// parseDER parses a PKCS #8 or SEC 1 key whose bytes are in a cell. The
// ASN.1 reader hands out slices of it; only the algorithm identifiers and
// lengths are copied out.
func parseDER(der []byte) (PrivateKey, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errNotASN1
	}
	var version int64
	if !seq.ReadASN1Integer(&version) {
		return nil, errNotASN1
	}
	if seq.PeekASN1Tag(cbasn1.OCTET_STRING) {
		// SEC 1's ECPrivateKey: version 1, then the key.
		return parseSEC1(der, nil)
	}
	var alg, priv cryptobyte.String
	var oid asn1.ObjectIdentifier
	if (version != 0 && version != 1) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) || !seq.ReadASN1(&priv, cbasn1.OCTET_STRING) {
		return nil, errNotASN1
	}
	switch {
	case oid.Equal(oidEd25519):
		var seed cryptobyte.String
		if !alg.Empty() || !priv.ReadASN1(&seed, cbasn1.OCTET_STRING) || !priv.Empty() {
			return nil, errNotASN1
		}
		if len(seed) != keyed.Ed25519SeedSize {
			return nil, fmt.Errorf("%w: an Ed25519 key of %d bytes", ErrKeyFormat, len(seed))
		}
		return newEd25519(seed, nil)
	case oid.Equal(oidEC):
		var curve asn1.ObjectIdentifier
		if !alg.ReadASN1ObjectIdentifier(&curve) {
			return nil, errNotASN1
		}
		if !curve.Equal(oidP256) {
			return nil, fmt.Errorf("%w: an ECDSA key on the curve %v (only P-256 is supported)", ErrKeyFormat, curve)
		}
		return parseSEC1(priv, curve)
	case oid.Equal(oidRSA), oid.Equal(oidRSAPSS):
		return nil, errRSA
	case oid.Equal(oidX25519):
		return nil, fmt.Errorf("%w: an X25519 key, which cannot sign", ErrKeyFormat)
	}
	return nil, fmt.Errorf("%w: a key of algorithm %v", ErrKeyFormat, oid)
}

// parseSEC1 parses an ECPrivateKey (RFC 5915). outer is the curve named
// by PKCS #8, or nil.
func parseSEC1(der []byte, outer asn1.ObjectIdentifier) (PrivateKey, error) {
	in := cryptobyte.String(der)
	var seq, scalar cryptobyte.String
	var version int64
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(&version) ||
		version != 1 || !seq.ReadASN1(&scalar, cbasn1.OCTET_STRING) {
		return nil, errNotASN1
	}
	var params, pub cryptobyte.String
	var hasParams, hasPub bool
	if !seq.ReadOptionalASN1(&params, &hasParams, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.ReadOptionalASN1(&pub, &hasPub, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errNotASN1
	}
	curve := outer
	if hasParams {
		var named asn1.ObjectIdentifier
		if !params.ReadASN1ObjectIdentifier(&named) {
			return nil, fmt.Errorf("%w: explicit curve parameters (only the named curve P-256 is supported)", ErrKeyFormat)
		}
		if curve != nil && !named.Equal(curve) {
			return nil, fmt.Errorf("%w: the key names two different curves", ErrKeyFormat)
		}
		curve = named
	}
	if curve == nil {
		return nil, fmt.Errorf("%w: an EC key that names no curve", ErrKeyFormat)
	}
	if !curve.Equal(oidP256) {
		return nil, fmt.Errorf("%w: an ECDSA key on the curve %v (only P-256 is supported)", ErrKeyFormat, curve)
	}
	var point []byte
	if hasPub {
		var bits asn1.BitString
		if !pub.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 {
			return nil, errNotASN1
		}
		point = bits.Bytes
	}
	return newECDSA(scalar, point)
}
