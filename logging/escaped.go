package logging

import (
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/internal/jsonstr"
)

// escapedLive redacts live secrets that s holds written with escapes no
// spelling the registry knows covers: JSON's ("\u0073", "\/", which some
// encoders write for every slash) and URLs' ("%2F", "%2B", "+" for a
// space in a query). s is read back from its escapes into scratch memory
// (wiped afterwards) and searched there, and each match is redacted in s
// whole, escapes and all. Most strings hold neither '\' nor '%' and cost
// two byte searches; a string that does costs one decoding, which
// allocates nothing unless it finds a secret.
func escapedLive(s string) (string, bool) {
	if !fingerprint.Live() {
		return s, false
	}
	pct := strings.IndexByte(s, '%') >= 0
	if !pct && strings.IndexByte(s, '\\') < 0 {
		return s, false
	}
	sc := getScratch()
	defer sc.release()
	for _, plus := range [...]bool{false, true} {
		// A '+' is a space only in a query; read that way only when the
		// literal reading found nothing, so a secret that holds '+' is
		// found in a path too.
		if plus && (!pct || strings.IndexByte(s, '+') < 0) {
			break
		}
		sc.dec.reset()
		sc.dec.grow(len(s)) // no escape decodes longer than it is written
		out, escaped := sc.dec.b[:0], false
		for i := 0; i < len(s); {
			// Copy the run up to the next byte that may start an escape.
			j := i
			for j < len(s) && !mayEscape(s[j], plus) {
				j++
			}
			out = append(out, s[i:j]...)
			if i = j; i == len(s) {
				break
			}
			var r [utf8.UTFMax]byte
			b, n := unescapeAt(s, i, plus, &r)
			out = append(out, b...)
			escaped = escaped || n > 1 || plus && s[i] == '+'
			i += n
		}
		sc.dec.b = out
		if !escaped {
			return s, false // s as written was searched already
		}
		var buf [4][2]int
		found := fingerprint.Spans(unsafe.String(unsafe.SliceData(out), len(out)), buf[:0])
		if len(found) > 0 {
			return replaceSpans(s, sourceSpans(s, found, plus)), true
		}
	}
	return s, false
}

func mayEscape(c byte, plus bool) bool {
	return c == '\\' || c == '%' || plus && c == '+'
}

// unescapeAt reads the escape (or plain byte) at s[i]: the bytes it
// stands for, in r or in s, and how many bytes of s it takes.
func unescapeAt(s string, i int, plus bool, r *[utf8.UTFMax]byte) ([]byte, int) {
	switch c := s[i]; {
	case c == '\\':
		if x, n := jsonstr.DecodeEscape(s[i:]); n > 0 {
			return utf8.AppendRune(r[:0], x), n
		}
	case c == '%' && i+2 < len(s) && hexDigit[s[i+1]] && hexDigit[s[i+2]]:
		r[0] = unhex(s[i+1])<<4 | unhex(s[i+2])
		return r[:1], 3
	case c == '+' && plus:
		r[0] = ' '
		return r[:1], 1
	}
	return unsafe.Slice(unsafe.StringData(s[i:]), 1), 1
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// sourceSpans maps spans of the decoded text back to s: each starts at
// the escape that wrote its first byte and ends after the one that wrote
// its last.
func sourceSpans(s string, found [][2]int, plus bool) []span {
	spans := make([]span, len(found))
	d, k := 0, 0 // decoded bytes so far; the span being mapped
	for i := 0; i < len(s) && k < len(found); {
		var r [utf8.UTFMax]byte
		b, n := unescapeAt(s, i, plus, &r)
		// The escape at s[i:i+n] wrote decoded bytes [d, d+len(b)).
		for k < len(found) {
			if found[k][0] >= d && found[k][0] < d+len(b) {
				spans[k].start = i
			}
			if found[k][1] > d+len(b) {
				break
			}
			spans[k].end = i + n
			k++
		}
		d += len(b)
		i += n
	}
	return spans
}
