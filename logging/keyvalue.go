package logging

import "strings"

// keyValue handles a '=' or ':' at i: when the key before it names a
// secret, the value after it is the span.
func (c *compiled) keyValue(s string, i int) (span, bool) {
	quotedKey := false
	end := i
	for end > 0 && end > i-4 && s[end-1] == ' ' {
		end--
	}
	if end > 0 && (s[end-1] == '"' || s[end-1] == '\'') {
		quotedKey = true
		end--
	}
	start, limit := end, max(0, end-maxKeyBuf)
	for start > limit && keyChar[s[start-1]] {
		start--
	}
	if start == end {
		return span{}, false
	}
	v := i + 1
	spaced := false
	if s[i] == ':' {
		// "https://", "::1" and "a:" at the end are not key-value pairs.
		if v == len(s) || s[v] == '/' || s[v] == ':' {
			return span{}, false
		}
		spaced = s[v] == ' ' || s[v] == '\t'
	}
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	// The key is checked before the value is measured, so text full of
	// '=' and quotes costs linear time, not quadratic.
	if v == len(s) || strings.HasPrefix(s[v:], "[REDACTED") || !c.keys.match(s[start:end]) {
		return span{}, false
	}
	switch q := s[v]; {
	case q == '"' || q == '\'':
		return quoted(s, v+1, q)
	case q == '[':
		// A %+v slice or map value: "Password:[112 97]", "map[Token:[x]]".
		return bracketed(s, v)
	case spaced && !quotedKey && lineStart(s, start):
		// "password: x", a YAML line, an httputil.DumpRequest header
		// line: the rest of the line is the value.
		return lineValue(s, s[start:end], v)
	}
	vEnd := v
	for vEnd < len(s) && !valueStop[s[vEnd]] {
		vEnd++
	}
	if vEnd == v || spaced && !quotedKey && !endsField(s, vEnd) {
		// "invalid password: too short" is prose, not a field.
		return span{}, false
	}
	return span{v, vEnd}, true
}

// quoted returns the span of a quoted value starting at v, after the
// opening quote q; a backslash escapes the next byte.
func quoted(s string, v int, q byte) (span, bool) {
	vEnd := v
	for vEnd < len(s) && s[vEnd] != q {
		if s[vEnd] == '\\' {
			vEnd++
		}
		vEnd++
	}
	vEnd = min(vEnd, len(s))
	if vEnd == v {
		return span{}, false
	}
	return span{v, vEnd}, true
}

// bracketed returns the span inside the brackets that open at v, up to
// the matching close (or the end of s).
func bracketed(s string, v int) (span, bool) {
	depth := 0
	for j := v; j < len(s); j++ {
		switch s[j] {
		case '[':
			depth++
		case ']':
			if depth--; depth == 0 {
				if j == v+1 || strings.HasPrefix(s[v+1:], "[REDACTED") {
					return span{}, false
				}
				return span{v + 1, j}, true
			}
		}
	}
	if v+1 == len(s) {
		return span{}, false
	}
	return span{v + 1, len(s)}, true
}

// lineStart reports whether only blanks (or a YAML list dash) stand
// between the start of the line and the key at start.
func lineStart(s string, start int) bool {
	for j := start - 1; j >= 0; j-- {
		switch s[j] {
		case '\n':
			return true
		case ' ', '\t', '-':
		default:
			return false
		}
	}
	return true
}

// lineValue returns the span of the value from v to the end of its line.
// After an Authorization header the scheme stays: "Bearer [REDACTED]".
func lineValue(s, key string, v int) (span, bool) {
	end := v
	for end < len(s) && s[end] != '\n' && s[end] != '\r' {
		end++
	}
	for end > v && (s[end-1] == ' ' || s[end-1] == '\t') {
		end--
	}
	if k := len(key); k >= len("authorization") && strings.EqualFold(key[k-len("authorization"):], "authorization") {
		if sp := strings.IndexByte(s[v:end], ' '); sp > 0 && sp <= 16 && isLetters(s[v:v+sp]) {
			v += sp + 1
		}
	}
	if end == v {
		return span{}, false
	}
	return span{v, end}, true
}

// endsField reports whether a value that ends at e ends a field rather
// than a word of prose: the end of the text or of a line, a delimiter, or
// another key that follows.
func endsField(s string, e int) bool {
	if e == len(s) {
		return true
	}
	switch s[e] {
	case '\n', '\r', ',', ';', ')', '}', ']':
		return true
	case ' ', '\t':
		j := e
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		k := j
		for k < len(s) && keyChar[s[k]] {
			k++
		}
		return k > j && k < len(s) && (s[k] == '=' || s[k] == ':')
	}
	return false
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !letters[s[i]] {
			return false
		}
	}
	return true
}
