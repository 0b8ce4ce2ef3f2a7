package jwt

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The claims parser agrees with encoding/json on what it reads.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"a","sub":"b","aud":["c","d"],"exp":1,"nbf":2.5,"iat":3e2,"jti":"\u00e9\ud83d\ude00"}`,
		`{"x":{"y":[true,false,null,-1.5E+3,"\\\"\/"]},"aud":"z"}`,
		`{}`, `{"a":1,}`, `{"iss":"\ud800"}`, " {\"sub\" : \"x\" } ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Claims{}
		r := reader{b: b, out: make([]byte, 0, len(b))}
		err := c.parse(&r)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		// encoding/json matches struct fields without regard to case:
		// compare with exact names.
		var ref map[string]any
		if json.Unmarshal(b, &ref) == nil {
			for name, ours := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID} {
				s, ok := ref[name].(string)
				if ok && s != ours {
					t.Fatalf("decoded %q, encoding/json %q, from %q", ours, s, b)
				}
			}
		}
	})
}

// TestClaimsReadLoneSurrogatesAsEncodingJSONDoes: half a surrogate pair
// is U+FFFD and the escape after it is read on its own, as encoding/json
// (which decodes the custom claims) reads it. The reader once swallowed
// the next \u escape with it: "\ud800\u0041" read as "\ufffd", not
// "\ufffdA".
func TestClaimsReadLoneSurrogatesAsEncodingJSONDoes(t *testing.T) {
	for _, in := range []string{
		`{"iss":"\ud800\u0041"}`, `{"iss":"\udc00"}`, `{"iss":"a\ud83d\ude00\ud800"}`, `{"iss":"\ud800\ud800\udc00"}`,
	} {
		c := &Claims{}
		r := reader{b: []byte(in), out: make([]byte, 0, len(in))}
		if err := c.parse(&r); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var ref struct{ Iss string }
		if err := json.Unmarshal([]byte(in), &ref); err != nil {
			t.Fatal(err)
		}
		if c.Issuer != ref.Iss {
			t.Errorf("%s: iss %q, encoding/json reads %q", in, c.Issuer, ref.Iss)
		}
	}
}

// next finds names by keys that hold up to seven bytes: every name a
// verifier reads must fit, and no two names may share a key.
func TestReadNamesHaveKeys(t *testing.T) {
	for _, names := range [][]string{headerNames, claimNames} {
		seen := map[nameKey]string{}
		for _, n := range names {
			k := keyOf(n)
			if len(n) > 7 || k == 0 {
				t.Errorf("%q is longer than a name key holds", n)
			}
			if o, dup := seen[k]; dup {
				t.Errorf("%q and %q have the same key", n, o)
			}
			seen[k] = n
		}
	}
	if keyOf("alg") == keyOf("alg\x00") || keyOf("iss") == keyOf("iss\x00\x00\x00\x00") {
		t.Error("a name with NUL bytes after it has the name's key")
	}
}

// Claims of every size read the same: the decoded token in the Claims'
// own buffer with room to spare, filling it so that strings with escapes
// need more room, and too large for it. Each size has escaped strings
// before and after plain ones, compared with what encoding/json reads.
func TestClaimsOfEverySizeReadAsEncodingJSONDoes(t *testing.T) {
	key := bytes.Repeat([]byte("e"), 32)
	k := hmacKey(t, HS256, "kid/1", key)
	v := verifier(t, Options{AllowNoExpiry: true, Audience: "c"}, k)
	h64 := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"kid\/1"}`))
	for pad := 0; pad < 2*inlineSize; pad += 7 {
		payload := `{"iss":"https:\/\/issuer.example\/` + strings.Repeat("x", pad) + `","sub":"plain",` +
			`"jti":"\u00e9\ud83d\ude00\n` + strings.Repeat("y", pad/3) + `","aud":["a\/b","c"]}`
		c, err := v.Verify(hs256(key, h64, enc.EncodeToString([]byte(payload))))
		if err != nil {
			t.Fatalf("pad %d: %v", pad, err)
		}
		var ref struct {
			Iss, Sub, Jti string
			Aud           []string
		}
		if err := json.Unmarshal([]byte(payload), &ref); err != nil {
			t.Fatal(err)
		}
		if c.Issuer != ref.Iss || c.Subject != ref.Sub || c.ID != ref.Jti || !slices.Equal(c.Audience, ref.Aud) {
			t.Errorf("pad %d: read %q %q %q %q, encoding/json %q %q %q %q",
				pad, c.Issuer, c.Subject, c.ID, c.Audience, ref.Iss, ref.Sub, ref.Jti, ref.Aud)
		}
		if c.KeyID != "kid/1" || c.Algorithm != HS256 || string(c.Payload()) != payload {
			t.Errorf("pad %d: kid %q, alg %q, payload %q", pad, c.KeyID, c.Algorithm, c.Payload())
		}
	}
}

// numericDateByText is numericDate without its fast path: the number's
// text first, then its value.
func numericDateByText(r *reader, up bool) (int64, error) {
	t, err := r.number()
	if err != nil {
		return 0, err
	}
	return dateOf(t, up)
}

// The whole-seconds fast path of numericDate reads what the general
// path reads, and leaves the reader where it does, for every kind of
// number and what may follow it.
func TestNumericDatesReadAlike(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"0", "1", "9", "10", "01", "-1", "1.5", "1e3", "1E+2", "2000000000", "999999999999999999",
		"1000000000000000000", "12345678901234567890", "1.", "1e", "-", "+1", "0.0", "-0", "7-", "3+"}
	for range 5000 {
		var b strings.Builder
		if r.IntN(10) == 0 {
			b.WriteByte('-')
		}
		for range r.IntN(21) + 1 {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		switch r.IntN(6) {
		case 0:
			b.WriteString("." + strconv.Itoa(r.IntN(1000)))
		case 1:
			b.WriteString("e" + strconv.Itoa(r.IntN(5)))
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		for _, after := range []string{"", "}", ",", " ", "x", ".", "e"} {
			for _, up := range []bool{false, true} {
				text := []byte(in + after)
				fast, slow := reader{b: text}, reader{b: text}
				v1, err1 := fast.numericDate(up)
				v2, err2 := numericDateByText(&slow, up)
				if (err1 == nil) != (err2 == nil) || (err1 == nil && (v1 != v2 || fast.i != slow.i)) {
					t.Fatalf("%q (up %v): %d %v at %d, by text %d %v at %d", text, up, v1, err1, fast.i, v2, err2, slow.i)
				}
			}
		}
	}
}
