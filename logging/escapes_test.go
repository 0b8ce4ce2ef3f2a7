package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

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
