package logging

import (
	"encoding/base64"
	"strings"
	"unsafe"

	"github.com/secretmem/secretmem/internal/fingerprint"
)

// minBase64Run is the shortest run of base64 characters base64Live
// decodes: 8 bytes, the shortest registered secret, take 11 characters,
// and one more byte before it (the smallest offset that defeats the
// registry's own base64 spelling) 12.
const minBase64Run = 12

// base64Alphabet holds the characters of both base64 alphabets.
var base64Alphabet = makeClass("a~z", "A~Z", "0~9", "+/-_")

// base64Live redacts live secrets inside base64 text that encodes more
// than the secret: base64("user:" + password), a Docker config's "auth",
// a token inside an encoded JSON document. The registry knows a secret's
// base64 spelling only where the secret starts the encoded text (or a
// multiple of three bytes into it); elsewhere every character of the
// spelling differs. So each run of base64 characters long enough to hold
// a secret is decoded into scratch memory (wiped afterwards) and searched
// there, and the characters that encode a match are redacted, including
// the ones they share with its neighbours.
func base64Live(s string) (string, bool) {
	if !fingerprint.Live() || len(s) < minBase64Run {
		return s, false
	}
	first := nextBase64Run(s, 0)
	if first == len(s) {
		return s, false // the common case: no run long enough
	}
	sc := getScratch()
	defer sc.release()
	var spans []span
	for i := first; i < len(s); i = nextBase64Run(s, i) {
		end := run(s, i, base64Alphabet)
		spans = decodedLive(sc, s, i, end, spans)
		i = end
	}
	if len(spans) == 0 {
		return s, false
	}
	return replaceSpans(s, spans), true
}

// nextBase64Run returns the start of the first run from i on of at
// least minBase64Run base64 characters with both upper- and lower-case
// letters, or len(s). Base64 of more than eight bytes lacks one of the
// cases about once in five hundred; paths, words, numbers, hex and UUIDs
// nearly always lack one, and are not decoded for nothing.
func nextBase64Run(s string, i int) int {
	start, seen := i, uint8(0)
	for ; i < len(s); i++ {
		c := base64Class[s[i]]
		if c != 0 {
			seen |= c
			continue
		}
		if i-start >= minBase64Run && seen == b64Upper|b64Lower|b64Other {
			return start
		}
		start, seen = i+1, 0
	}
	if i-start >= minBase64Run && seen == b64Upper|b64Lower|b64Other {
		return start
	}
	return len(s)
}

// base64Class marks the base64 characters (b64Other set for all of
// them), and the letters by case: one load and one OR per byte.
const (
	b64Other = 1 << iota
	b64Upper
	b64Lower
)

var base64Class = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z':
			t[c] = b64Other | b64Upper
		case 'a' <= c && c <= 'z':
			t[c] = b64Other | b64Lower
		case '0' <= c && c <= '9', c == '+', c == '/', c == '-', c == '_':
			t[c] = b64Other
		}
	}
	return t
}()

// decodedLive decodes s[start:end], a run of base64 characters, and
// appends the spans of s that encode a live secret.
func decodedLive(sc *scratch, s string, start, end int, spans []span) []span {
	r := s[start:end]
	std, url := strings.ContainsAny(r, "+/"), strings.ContainsAny(r, "-_")
	if std && url {
		return spans // not one encoding
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	if len(r)%4 == 1 {
		r = r[:len(r)-1] // a character that completes no byte
	}
	sc.dec.reset()
	sc.dec.grow(enc.DecodedLen(len(r)))
	buf := sc.dec.b[:enc.DecodedLen(len(r))]
	n, err := enc.Decode(buf, unsafe.Slice(unsafe.StringData(r), len(r)))
	sc.dec.b = buf // wiped whole on release, whatever the decoder wrote
	if err != nil || n < 8 {
		return spans
	}
	var found [4][2]int
	for _, f := range fingerprint.Spans(unsafe.String(unsafe.SliceData(buf), n), found[:0]) {
		// Byte i is bits 8i to 8i+8 of the text, character c bits 6c to
		// 6c+6.
		from, to := f[0]*8/6, (f[1]*8+5)/6
		spans = append(spans, span{start + from, start + min(to, len(r))})
	}
	return spans
}
