package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/secretmem/secretmem/secret"
)

// TestJSONWithALoneSurrogateIsStillChecked: a value whose MarshalJSON
// holds a string ending in half a surrogate pair (valid JSON, which
// encoding/json reads as U+FFFD) is checked member by member. The
// unescaper once read past the end of such a string, and the whole
// value came out as renderFailure.
func TestJSONWithALoneSurrogateIsStillChecked(t *testing.T) {
	m := marker(t)
	raw := json.RawMessage(`{"note":"\ud800","password":"` + m + `"}`)
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(Redact(o.new(&buf), nil)).Info("event", "v", raw)
			checkNoSpelling(t, buf.Bytes(), m)
			if strings.Contains(buf.String(), renderFailure) {
				t.Fatal("the value was given up on, not checked")
			}
			if o.name == "JSON" && !strings.Contains(buf.String(), `{"note":"\ud800","password":"`+secret.Redacted+`"}`) {
				t.Errorf("the JSON value did not keep its shape with the password redacted (%d bytes, not shown)", buf.Len())
			}
		})
	}
}

// TestALiveSecretEscapedWithSurrogatePairsIsRedacted: text that writes
// every character of a live secret as a \u escape, as ASCII-only JSON
// encoders do (Python's json.dumps), spells a character outside the
// Basic Multilingual Plane as a surrogate pair. The pair is one
// character of the secret: read as two halves, the secret was not found
// and reached every output.
func TestALiveSecretEscapedWithSurrogatePairsIsRedacted(t *testing.T) {
	Redact(slog.DiscardHandler, nil) // activates registration
	m := marker(t) + "\U0001F511"
	v, err := secret.FromString(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Destroy)
	var esc strings.Builder
	for _, r := range m {
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&esc, `\u%04x`, u)
		}
	}
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(Redact(o.new(&buf), nil)).Info("event", "body", `{"x":"`+esc.String()+`"}`)
			// JSON and tint's quoting double the backslashes.
			out := strings.ReplaceAll(buf.String(), `\\`, `\`)
			if strings.Contains(out, esc.String()) || strings.Contains(out, m) {
				t.Errorf("the escaped secret reached the output (%d bytes, not shown)", buf.Len())
			}
			if !strings.Contains(buf.String(), secret.Redacted) {
				t.Error("nothing was redacted")
			}
		})
	}
}
