package jsonstr

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (space, tab, newline, carriage return), or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Number reads the JSON number at the start of b (RFC 8259:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) and returns its length.
// When b does not start with one, expected says what was missing ("a
// digit", "a digit after '.'", "a digit in the exponent") and n is where:
// a reader reports the offset, never the bytes, which may be a secret's.
// What follows the number is the caller's to check.
func Number(b []byte) (n int, expected string) {
	if n < len(b) && b[n] == '-' {
		n++
	}
	switch {
	case n < len(b) && b[n] == '0':
		n++
	case n < len(b) && b[n] >= '1' && b[n] <= '9':
		n = digits(b, n)
	default:
		return n, "a digit"
	}
	if n < len(b) && b[n] == '.' {
		if m := digits(b, n+1); m > n+1 {
			n = m
		} else {
			return n + 1, "a digit after '.'"
		}
	}
	if n < len(b) && (b[n] == 'e' || b[n] == 'E') {
		n++
		if n < len(b) && (b[n] == '+' || b[n] == '-') {
			n++
		}
		m := digits(b, n)
		if m == n {
			return n, "a digit in the exponent"
		}
		n = m
	}
	return n, ""
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
