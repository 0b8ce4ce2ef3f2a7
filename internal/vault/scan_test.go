package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// value parses one JSON value of any kind, as the fuzz test and the
// tables below need.
func parseValue(b []byte) error {
	s := scanner{b: b}
	if err := s.skip(); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("text after the JSON value")
	}
	return nil
}

func TestStringsAreDecodedInPlace(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`""`, ""},
		{`"a\"b\\c\/d"`, `a"b\c/d`},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{`"\u0041\u00e9\u20AC"`, "A\u00e9\u20ac"},
		{`"\ud83d\ude00 smile"`, "\U0001F600 smile"},
		{`"\u003cscript\u003e \u0026"`, "<script> &"}, // Go's encoder escapes these
		{`"héllo wörld"`, "héllo wörld"},
	} {
		t.Run(c.in, func(t *testing.T) {
			buf := []byte(c.in)
			s := scanner{b: buf}
			got, err := s.str()
			if err != nil {
				t.Fatalf("str: %v", err)
			}
			if string(got) != c.want {
				t.Fatalf("decoded %q, want %q", got, c.want)
			}
			if len(got) > 0 && &got[0] != &buf[1] {
				t.Error("the decoded string is not in the buffer it came from")
			}
			// What the escapes left between the decoded end and the
			// closing quote is wiped.
			tail := buf[1+len(got) : len(buf)-1]
			if !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Errorf("the leftover %q was not wiped", tail)
			}
			var std string
			if err := json.Unmarshal([]byte(c.in), &std); err != nil || std != c.want {
				t.Errorf("encoding/json reads %q (%v): the table is wrong", std, err)
			}
		})
	}
}

func TestTheScannerRefuses(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, c := range []struct{ name, in string }{
		{"a control byte in a string", "\"a\x01b\""},
		{"a raw newline in a string", "\"a\nb\""},
		{"an unknown escape", `"\x41"`},
		{"a short \\u escape", `"\u12"`},
		{"a \\u escape with a bad digit", `"\u12g4"`},
		{"a high surrogate alone", `"\ud800"`},
		{"a low surrogate alone", `"\udc00x"`},
		{"a high surrogate before a letter", `"\ud800\u0041"`},
		{"an unterminated string", `"abc`},
		{"an unterminated escape", `"abc\`},
		{"a leading zero", `01`},
		{"a bare minus", `-`},
		{"a dot without digits", `1.`},
		{"an exponent without digits", `1e`},
		{"a plus sign", `+1`},
		{"a truncated literal", `tru`},
		{"a misspelt literal", `nul`},
		{"nesting deeper than the bound", deep},
		{"text after the value", `{} {}`},
		{"a missing colon", `{"a" 1}`},
		{"a trailing comma", `{"a":1,}`},
		{"a name that is not a string", `{a:1}`},
		{"an unclosed object", `{"a":1`},
		{"an unclosed array", `[1,2`},
		{"nothing", ``},
		{"a single quote", `'a'`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := parseValue([]byte(c.in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// Refusals name a position and what was expected, never the bytes found:
// a body that breaks off may do so inside a secret.
func TestScannerErrorsQuoteNothing(t *testing.T) {
	const secretText = "hunter2-topsecret"
	for _, in := range []string{
		`{"password":"` + secretText,
		`{"password":"` + secretText + "\x01\"}",
		`{"password":"` + secretText + `\q"}`,
		`{"password":` + secretText + `}`,
	} {
		err := parseValue([]byte(in))
		if err == nil {
			t.Fatalf("%d bytes accepted", len(in))
		}
		if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the input: %v", err)
		}
	}
}

func TestDepthUpToTheBoundIsAccepted(t *testing.T) {
	ok := strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth)
	if err := parseValue([]byte(ok)); err != nil {
		t.Fatalf("%d levels: %v", maxDepth, err)
	}
}

func TestIntegers(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "2764800": 2764800, "-5": -5, "9223372036854775807": 1<<63 - 1} {
		s := scanner{b: []byte(in)}
		got, err := s.integer()
		if err != nil || got != want {
			t.Errorf("%s: %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"1.5", "1e3", "9223372036854775808", `"7"`, "true"} {
		s := scanner{b: []byte(in)}
		if _, err := s.integer(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", in, err)
		}
	}
}

// FuzzScanner holds the scanner to encoding/json: it never panics, accepts
// nothing encoding/json rejects, accepts everything encoding/json accepts
// within its stated limits (depth, surrogate halves), and decodes strings
// to the same bytes.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"data":{"password":"x"},"metadata":{"version":3}}}`,
		`{"errors":["permission denied"]}`,
		`["a\u00e9\ud83d\ude00",1.5e-3,true,null,{}]`,
		`"\ud800"`, `{"a":[[[[1]]]]}`, `-0.0E+1`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := parseValue(append([]byte(nil), in...))
		valid := json.Valid(in)
		if err == nil && !valid {
			t.Fatalf("accepted what encoding/json rejects: %q", in)
		}
		if err != nil && valid && !bytes.Contains(in, []byte(`\u`)) && depth(in) <= maxDepth {
			t.Fatalf("refused what encoding/json accepts: %q: %v", in, err)
		}
		if err == nil && len(in) > 0 && in[0] == '"' {
			var std string
			if json.Unmarshal(in, &std) == nil && bytesValidUTF8(in) {
				s := scanner{b: append([]byte(nil), in...)}
				got, _ := s.str()
				if string(got) != std {
					t.Fatalf("decoded %q, encoding/json %q", got, std)
				}
			}
		}
	})
}

// depth is the nesting of brackets outside strings.
func depth(b []byte) int {
	d, most, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			most = max(most, d)
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return most
}

func bytesValidUTF8(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }
