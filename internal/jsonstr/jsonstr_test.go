package jsonstr

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// TestEscapingMatchesEncodingJSON: what encoding/json writes inside the
// quotes, with and without HTML escaping, and that reading it back gives
// the input.
func TestEscapingMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", `q"b\s`, "\b\f\n\r\t\x01\x1f", "<a&b>", "é\u2028\u2029😀", "x/y"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		b := make([]rune, r.IntN(12))
		for i := range b {
			b[i] = []rune{'a', '"', '\\', '<', '&', 0, 0x1f, 'é', 0x2028, 0x1F600, '\n'}[r.IntN(11)]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		for _, html := range []bool{false, true} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(in); err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			want = want[1 : len(want)-1]
			got, ok := AppendEscaped(nil, []byte(in), html)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("AppendEscaped(%q, html %v) = %q, encoding/json writes %q", in, html, got, want)
			}
			back, ok := AppendUnescaped(nil, got)
			if !ok || string(back) != in {
				t.Fatalf("AppendUnescaped(%q) = %q, want %q", got, back, in)
			}
		}
	}
}

func TestUnescapeRefusesMalformedEscapes(t *testing.T) {
	for _, s := range []string{`\`, `\x`, `\u12`, `\uZZZZ`} {
		if _, ok := AppendUnescaped(nil, []byte(s)); ok {
			t.Errorf("AppendUnescaped(%q) accepted it", s)
		}
	}
	if _, ok := AppendEscaped(nil, []byte("\xff"), false); ok {
		t.Error("invalid UTF-8 was escaped as if it could be read back")
	}
}

// TestLoneSurrogatesReadAsEncodingJSONReadsThem: a \u escape of half a
// surrogate pair, alone, at the end of the text, or before another
// escape that does not complete it, is U+FFFD, and what follows is read
// on its own. (A high surrogate at the very end once read past the
// text.)
func TestLoneSurrogatesReadAsEncodingJSONReadsThem(t *testing.T) {
	for _, in := range []string{
		`\ud800`, `\ud800x`, `\udc00`, `\udc00\ud800`, `\ud800\u0041`, `\ud800\ud800\udc00`,
		`\ud83d\ude00`, `\uD83D\uDE00`, `a\ud800\n`, `\ud800\`, `\ud800\u`,
	} {
		var want string
		wantOK := json.Unmarshal([]byte(`"`+in+`"`), &want) == nil
		got, ok := AppendUnescaped(nil, []byte(in))
		if ok != wantOK || ok && string(got) != want {
			t.Errorf("AppendUnescaped(%q) = %q, %v; encoding/json reads %q, %v", in, got, ok, want, wantOK)
		}
	}
}

func TestDecodeEscapeReadsOneEscape(t *testing.T) {
	for _, c := range []struct {
		in string
		r  rune
		n  int
	}{
		{`\"rest`, '"', 2}, {`\\`, '\\', 2}, {`\/`, '/', 2}, {`\b`, '\b', 2}, {`\f`, '\f', 2},
		{`\n`, '\n', 2}, {`\r`, '\r', 2}, {`\t`, '\t', 2},
		{`\u0041\u0042`, 'A', 6}, {`\u20aC`, '€', 6},
		{`\ud83d\ude00!`, '\U0001F600', 12},
		{`\ud83d`, 0xd83d, 6}, {`\ud83d\u0041`, 0xd83d, 6}, {`\ude00\ud83d`, 0xde00, 6},
		{`\ud83d\uZZZZ`, 0xd83d, 6},
		{``, 0, 0}, {`a`, 0, 0}, {`\`, 0, 0}, {`\x`, 0, 0}, {`\U0041`, 0, 0}, {`\u004`, 0, 0}, {`\u00g1`, 0, 0},
	} {
		r, n := DecodeEscape([]byte(c.in))
		if r != c.r || n != c.n {
			t.Errorf("DecodeEscape(%q) = %U, %d; want %U, %d", c.in, r, n, c.r, c.n)
		}
		if rs, ns := DecodeEscape(c.in); rs != r || ns != n {
			t.Errorf("DecodeEscape(%q) reads a string as %U, %d and bytes as %U, %d", c.in, rs, ns, r, n)
		}
		if n > 0 && utf8.RuneLen(r) > n && !utf16.IsSurrogate(r) {
			t.Errorf("DecodeEscape(%q): %d bytes of UTF-8 from %d of escape: in-place decoding would overrun", c.in, utf8.RuneLen(r), n)
		}
	}
}
