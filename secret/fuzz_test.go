package secret_test

import (
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// FuzzMasked checks Masked's promise for any secret and any suffix: it
// never panics, it shows at most a third of the secret and never more than
// the suffix asked for, what it shows is the secret's printable tail, and
// everything else is stars (at most 32 of them).
func FuzzMasked(f *testing.F) {
	f.Add("sk-live-1234", 4)
	f.Add("sk-live-1234", 12)
	f.Add("sk-live-1234", -3)
	f.Add("abc", 2)
	f.Add("ab", 2)
	f.Add("x", 1)
	f.Add("", 4)
	f.Add(strings.Repeat("x", 100)+"tail", 4)
	f.Add("binary\x00\x01\x02\x03\x04\x05", 3)
	f.Add("***secret***", 4)
	f.Add("pässwörd-ünicode", 6)
	f.Add("tab\tand\nnewline", 1<<30)
	f.Fuzz(func(t *testing.T, s string, suffix int) {
		if len(s) > 1<<12 {
			t.Skip("Masked's rule does not depend on length beyond 96 bytes")
		}
		v, err := secret.New([]byte(s))
		if err != nil {
			t.Fatalf("New(%d bytes): %v", len(s), err)
		}
		defer v.Destroy()
		out := v.Masked(suffix)
		if s == "" {
			if out != "" && out != secret.Redacted {
				t.Fatalf("an empty secret masks to %q", out)
			}
			return
		}
		// Show the last min(suffix, len/3) bytes when they are all printable
		// ASCII, nothing otherwise; star the rest, at most 32 stars.
		show := min(max(suffix, 0), len(s)/3)
		tail := s[len(s)-show:]
		printable := true
		for i := 0; i < len(tail); i++ {
			if tail[i] < 0x20 || tail[i] > 0x7e {
				printable = false
			}
		}
		if !printable {
			show, tail = 0, ""
		}
		if out != strings.Repeat("*", min(len(s)-show, 32))+tail {
			// Never print out: it may hold more of the secret than it should.
			t.Fatalf("Masked(%d) of a %d-byte secret is %d bytes, not %d stars and its last %d bytes",
				suffix, len(s), len(out), min(len(s)-show, 32), show)
		}
	})
}
