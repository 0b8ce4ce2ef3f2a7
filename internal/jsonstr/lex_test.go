package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNumberReadsWhatEncodingJSONReads(t *testing.T) {
	for _, c := range []struct {
		in       string
		n        int
		expected string
	}{
		{"0", 1, ""}, {"-0", 2, ""}, {"123", 3, ""}, {"-1.5e+10", 8, ""}, {"2E-3", 4, ""}, {"0.000", 5, ""},
		{"1e400", 5, ""}, {"12,", 2, ""}, {"01", 1, ""}, // the caller refuses what follows
		{"", 0, "a digit"}, {"-", 1, "a digit"}, {"+1", 0, "a digit"}, {".5", 0, "a digit"}, {"-a", 1, "a digit"},
		{"1.", 2, "a digit after '.'"}, {"1.e3", 2, "a digit after '.'"},
		{"1e", 2, "a digit in the exponent"}, {"1e+", 3, "a digit in the exponent"}, {"1E-x", 3, "a digit in the exponent"},
	} {
		n, expected := Number([]byte(c.in))
		if n != c.n || expected != c.expected {
			t.Errorf("Number(%q) = %d, %q; want %d, %q", c.in, n, expected, c.n, c.expected)
		}
		whole := expected == "" && n == len(c.in)
		if valid := json.Valid([]byte(c.in)); whole != valid {
			t.Errorf("Number(%q) reads the whole text: %v; encoding/json finds it valid: %v", c.in, whole, valid)
		}
	}
}

func TestSkipSpaceSkipsOnlyJSONWhitespace(t *testing.T) {
	for _, c := range []struct {
		in    string
		i, to int
	}{
		{" \t\r\n x", 0, 5}, {"x  ", 1, 3}, {"", 0, 0}, {"\v\f1", 0, 0}, {"\u00a0", 0, 0}, {" ", 1, 1},
	} {
		if got := SkipSpace([]byte(c.in), c.i); got != c.to {
			t.Errorf("SkipSpace(%q, %d) = %d, want %d", c.in, c.i, got, c.to)
		}
	}
}

func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5e+10", "1.", "01", "-", "1e"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, expected := Number(b)
		if n < 0 || n > len(b) {
			t.Fatalf("Number(%q) = %d, outside the text", b, n)
		}
		if len(b) > 0 && (isSpace(b[0]) || isSpace(b[len(b)-1])) {
			return // encoding/json allows whitespace around a value
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		number := false
		if json.Valid(b) && d.Decode(&v) == nil {
			_, number = v.(json.Number)
		}
		if whole := expected == "" && n == len(b); whole != number {
			t.Fatalf("Number(%q) = %d, %q; encoding/json reads a number: %v", b, n, expected, number)
		}
	})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
