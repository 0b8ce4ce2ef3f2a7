package jsonstr

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
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
