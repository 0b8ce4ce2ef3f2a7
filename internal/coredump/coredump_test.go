package coredump

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
)

// Occurrences around the first read's edges count once each, a where
// function sees the bytes before an occurrence across a read, one ending
// the file counts, and overlapping occurrences count each.
func TestCountFindsEveryOccurrenceOnce(t *testing.T) {
	needle := []byte("needle-0123456789") // 17 bytes
	tail := len(needle) - 1
	first := 8<<20 + Lookback + tail // the first read
	limit := first - tail            // occurrences from here are counted with the second
	b := make([]byte, 2*first)
	put := func(at int, s []byte) { copy(b[at:], s) }
	put(10, needle)
	put(limit-5, needle)         // counted in the first pass, runs past its limit
	put(first-3, []byte("MARK")) // at the end of the first read, 10 bytes before...
	put(first+7, needle)         // ...this one, in the second
	put(len(b)-len(needle), needle)
	put(first+1000, []byte("aaaa"))
	path := filepath.Join(wine.TempDir(t), "core")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	marked := func(b []byte, i int) bool { return i >= 10 && string(b[i-10:i-6]) == "MARK" }
	got, inMark, err := Count(path, map[string][]byte{"n": needle, "aa": []byte("aa"), "none": []byte("zzz"), "empty": nil}, marked)
	if err != nil {
		t.Fatal(err)
	}
	if got["n"] != 4 || got["aa"] != 3 || got["none"] != 0 || got["empty"] != 0 {
		t.Errorf("counts %v, want n=4 aa=3 none=0 empty=0", got)
	}
	if inMark["n"] != 1 || inMark["aa"] != 0 {
		t.Errorf("marked %v, want n=1", inMark)
	}
}
