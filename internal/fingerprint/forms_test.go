package fingerprint

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestEverySpellingIsFound: a live secret is found however it was
// encoded on its way into a log line, and only as long as it is live.
func TestEverySpellingIsFound(t *testing.T) {
	sec := "s3cr<et>&\"q\\" + marker(t, 12)
	c, id := newCell(t, sec)
	jsonHTML, _ := json.Marshal(sec)
	var jsonPlain strings.Builder
	enc := json.NewEncoder(&jsonPlain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(sec)
	lowerOnly := "abcdefgh" + marker(t, 8)
	newCell(t, lowerOnly)
	urlish := string([]byte{0xfb, 0xff, 0xbf, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8})
	newCell(t, urlish)
	var arr [64]byte // zeros, then the secret's bytes
	copy(arr[3:], sec)
	jsonArray, _ := json.Marshal(struct{ A [64]byte }{arr})
	for _, tc := range []struct{ name, text, secret string }{
		{"plain", "x " + sec + " y", sec},
		{"hex", "key=" + hex.EncodeToString([]byte(sec)) + ";", sec},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString([]byte(sec))), sec},
		{"padded base64", `{"raw":"` + base64.StdEncoding.EncodeToString([]byte(sec)) + `"}`, sec},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString([]byte(sec)), sec},
		{"URL base64", "?k=" + base64.URLEncoding.EncodeToString([]byte(urlish)), urlish},
		{"json.Marshal escaping", `{"a":` + string(jsonHTML) + `}`, sec},
		{"escaping without HTML", strings.TrimSpace(jsonPlain.String()), sec},
		{"upper case", "TOKEN " + strings.ToUpper(lowerOnly), lowerOnly},
		{"%v of its bytes", fmt.Sprintf("Data:%v}", []byte(sec)), sec},
		{"JSON of its bytes as an array", string(jsonArray), sec},
		{"% x of its bytes", fmt.Sprintf("key: % x", sec), sec},
		{"%#v of its bytes", fmt.Sprintf("%#v", struct{ D []byte }{[]byte(urlish)}), urlish},
	} {
		t.Run("a live secret in "+tc.name+" is found", func(t *testing.T) {
			out, ok := Scrub(tc.text, repl)
			if !ok || strings.Contains(out, tc.secret) {
				t.Fatalf("not redacted (%d bytes in, ok %v)", len(tc.text), ok)
			}
			if spans := Spans(tc.text, nil); len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
		})
	}
	c.ended.Store(true)
	if _, ok := Scrub(hex.EncodeToString([]byte(sec)), repl); ok {
		t.Error("an ended cell's hex form still matched")
	}
	Remove(id)
	if _, ok := Scrub(base64.RawStdEncoding.EncodeToString([]byte(sec)), repl); ok {
		t.Error("a removed secret's base64 form still matched")
	}
}

func TestSpellingsDoNotMatchOtherText(t *testing.T) {
	sec := marker(t, 24)
	newCell(t, sec)
	for _, text := range []string{
		hex.EncodeToString([]byte(sec + "x"))[2:], // shifted by a byte
		strings.ToUpper(sec[:20]) + "ZZZZ",
		base64.StdEncoding.EncodeToString([]byte("x" + sec[1:])),
	} {
		if _, ok := Scrub(text, repl); ok {
			t.Errorf("%q matched", text)
		}
	}
}

func TestGenerationCountsAdds(t *testing.T) {
	g := Generation()
	newCell(t, marker(t, 16))
	if Generation() == g {
		t.Fatal("Add did not change the generation")
	}
}
