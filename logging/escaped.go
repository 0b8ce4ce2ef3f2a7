package logging

import (
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/internal/jsonstr"
)

// escapedLive redacts live secrets that s holds written with JSON
// escapes ("\u0073\u0065..."), which no spelling the registry knows
// covers: s is read back from its escapes into scratch memory (wiped
// afterwards), searched there, and each match is redacted in s whole,
// escapes and all.
func escapedLive(s string) (string, bool) {
	if !fingerprint.Live() || !strings.Contains(s, `\u`) {
		return s, false
	}
	sc := getScratch()
	defer sc.release()
	sc.dec.grow(len(s))
	// from[i] is the index in s of the escape (or byte) that wrote byte i.
	from := make([]int32, 0, len(s))
	out := sc.dec.b[:0]
	for i := 0; i < len(s); {
		if s[i] == '\\' {
			if r, n := jsonstr.DecodeEscape(s[i:]); n > 0 {
				start := len(out)
				out = utf8.AppendRune(out, r)
				for range len(out) - start {
					from = append(from, int32(i))
				}
				i += n
				continue
			}
		}
		out = append(out, s[i])
		from = append(from, int32(i))
		i++
	}
	sc.dec.b = out
	var buf [4][2]int
	found := fingerprint.Spans(unsafe.String(unsafe.SliceData(out), len(out)), buf[:0])
	if len(found) == 0 {
		return s, false
	}
	spans := make([]span, 0, len(found))
	for _, f := range found {
		end := len(s)
		for j := f[1]; j < len(from); j++ {
			if from[j] != from[f[1]-1] {
				end = int(from[j])
				break
			}
		}
		spans = append(spans, span{int(from[f[0]]), end})
	}
	return replaceSpans(s, spans), true
}
