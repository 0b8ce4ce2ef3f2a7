package jwt

import "strings"

// A token's header is the same for every token its issuer makes with one
// key ({"alg":"HS256","typ":"JWT","kid":"2025-01"}), and decoding and
// reading it was a sixth of a short token's verification. So a Verifier
// remembers, for each key, the header of the last token the key verified,
// as the token carried it, with what was read from it; a token whose
// header is those bytes exactly is read as that header was, because
// reading is a function of the bytes alone. Only a header whose token's
// signature verified is remembered: no one without a key can make the
// Verifier remember anything, or churn what it remembers. The header is
// not secret (the signature is what a token's holder must keep), and a
// header over maxMemo is not remembered.

// headerMemo is a header as a token carried it (base64url) and what
// readHeader read from it.
type headerMemo struct {
	b64    string
	header tokenHeader
}

// maxMemo is the longest header remembered: about 300 bytes of JSON.
const maxMemo = 400

// recall returns what was read from a header with these bytes, or nil.
func (v *Verifier) recall(h64 []byte) *headerMemo {
	for i := range v.memos {
		if m := v.memos[i].Load(); m != nil && m.b64 == string(h64) {
			return m
		}
	}
	return nil
}

// remember keeps h, read from h64, as the header of the last token that
// v.keys[i] verified.
func (v *Verifier) remember(i int, h64 []byte, h tokenHeader) {
	if len(h64) > maxMemo {
		return
	}
	if m := v.memos[i].Load(); m != nil && m.b64 == string(h64) {
		return // a concurrent verification remembered it
	}
	h.kid = strings.Clone(h.kid) // a view of the token's decoded header
	v.memos[i].Store(&headerMemo{b64: string(h64), header: h})
}
