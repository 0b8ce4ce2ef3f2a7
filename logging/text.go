package logging

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/secret"
)

// truncOverlap is how far past MaxLen text looks before it cuts: a secret
// the cut would split is found whole and redacted, so no prefix of it is
// printed. It keeps the cost per string bounded by MaxLen+truncOverlap.
const truncOverlap = 8 << 10

// text redacts one string and reports whether it changed. A string over
// MaxLen is redacted first (up to truncOverlap bytes past MaxLen) and cut
// afterwards, never the other way round: cutting first could split a
// secret so that neither its fingerprint nor a pattern matches the part
// left before the cut.
func (c *compiled) text(s string) (string, bool) {
	if len(s) <= c.maxLen {
		return c.redactText(s)
	}
	total := len(s)
	scanned := s[:min(total, c.maxLen+truncOverlap)]
	r, _ := c.redactText(scanned)
	cut := min(c.maxLen, len(r))
	if cut < len(r) {
		for i := cut; i > cut-256 && i > 0; i-- {
			if r[i-1] == ' ' || r[i-1] == '\n' {
				cut = i
				break
			}
		}
	}
	dropped := len(r) - cut + total - len(scanned)
	if dropped == 0 {
		return r, true // redaction alone brought it under MaxLen
	}
	return r[:cut] + "[TRUNCATED " + strconv.Itoa(dropped) + " bytes]", true
}

// redactText applies the enabled checks to s, which is at most
// MaxLen+truncOverlap bytes.
func (c *compiled) redactText(s string) (string, bool) {
	changed := false
	if c.disable&PatternLiveSecret == 0 && fingerprint.Live() {
		if out, ok := fingerprint.Scrub(s, secret.Redacted); ok {
			s, changed = out, true
		}
		if out, ok := escapedLive(s); ok {
			s, changed = out, true
		}
		if out, ok := base64Live(s); ok {
			s, changed = out, true
		}
	}
	if len(s) >= minBuiltin {
		// Most strings have no byte at which a check could start; they
		// cost next's loop and no call of scan.
		if i := next(s, 0); i < len(s) {
			var buf [4]span
			if spans := c.scan(s, i, buf[:0]); len(spans) > 0 {
				s, changed = replaceSpans(s, spans), true
			}
		}
	}
	for _, re := range c.extra {
		if out, ok := replaceRegexp(s, re); ok {
			s, changed = out, true
		}
	}
	return s, changed
}

func replaceSpans(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := make([]byte, 0, len(s)+len(spans)*len(secret.Redacted))
	prev := 0
	for _, sp := range spans {
		if sp.end <= prev {
			continue // inside what is already redacted
		}
		if sp.start < prev {
			prev = sp.end // overlapping spans merge into one marker
			continue
		}
		out = append(out, s[prev:sp.start]...)
		out = append(out, secret.Redacted...)
		prev = sp.end
	}
	out = append(out, s[prev:]...)
	return string(out)
}

func replaceRegexp(s string, re *regexp.Regexp) (string, bool) {
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return s, false
	}
	spans := make([]span, 0, len(matches))
	for _, m := range matches {
		sp := span{m[0], m[1]}
		if len(m) >= 4 && m[2] >= 0 {
			sp = span{m[2], m[3]}
		}
		if sp.end > sp.start {
			spans = append(spans, sp)
		}
	}
	if len(spans) == 0 {
		return s, false
	}
	return replaceSpans(s, spans), true
}
