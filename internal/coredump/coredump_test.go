package coredump

import (
	"os"
	"path/filepath"
	"testing"
)

// A needle straddling the 8 MiB read boundary counts once, one ending
// the file counts, and overlapping occurrences count each.
func TestCountFindsEveryOccurrenceOnce(t *testing.T) {
	chunk := 8 << 20
	b := make([]byte, 2*chunk+100)
	needle := []byte("needle-0123456789")
	copy(b[10:], needle)
	copy(b[chunk-5:], needle)
	copy(b[len(b)-len(needle):], needle)
	copy(b[chunk+1000:], "aaaa")
	path := filepath.Join(t.TempDir(), "core")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Count(path, map[string][]byte{"n": needle, "aa": []byte("aa"), "none": []byte("zzz"), "empty": nil})
	if err != nil {
		t.Fatal(err)
	}
	if got["n"] != 3 || got["aa"] != 3 || got["none"] != 0 || got["empty"] != 0 {
		t.Errorf("counts %v, want n=3 aa=3 none=0 empty=0", got)
	}
}
