//go:build linux

package proof

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The counting must be right before any count means anything: a marker
// straddling the streaming chunk boundary counts once, a truncated one is a
// fragment, and other bytes count as nothing.
func TestTheScannerCountsEachMarkerOnce(t *testing.T) {
	ms := newMarkerSet()
	pw := ms.secret("db.password")
	ms.makeTokens(3)
	tok := ms.tokens[1]

	chunk := 8 << 20 // scanFile's chunk size
	b := make([]byte, 3*chunk)
	for i := range b {
		b[i] = 'x'
	}
	put := func(at int, s string) { copy(b[at:], s) }
	put(10, pw)
	put(chunk-5, pw)           // straddles the first chunk boundary
	put(2*chunk-len(tok), tok) // ends exactly at the second boundary
	put(2*chunk+100, tok)
	put(len(b)-8, ms.tokenPrefix[:8])            // too short to be anything
	put(len(b)-len(pw)-20, pw[:len(pw)-3]+"zzz") // the prefix, then garbage: a fragment

	path := filepath.Join(t.TempDir(), "core")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	streamed, err := scanFile(path, ms)
	if err != nil {
		t.Fatal(err)
	}
	sc := newScanner(ms)
	sc.scan(b)
	for name, got := range map[string]tally{"streamed": streamed, "in one piece": sc.tally()} {
		if got.config["db.password"] != 2 || got.tokenCopies != 2 || got.distinctTokens != 1 || got.fragments != 1 {
			t.Errorf("%s: config %v, tokens %d copies of %d, %d fragments; want 2, 2 of 1, 1",
				name, got.config, got.tokenCopies, got.distinctTokens, got.fragments)
		}
		if got.bytes != int64(len(b)) {
			t.Errorf("%s: scanned %d bytes of %d", name, got.bytes, len(b))
		}
	}
	if strings.Contains(ms.configPrefix, ms.tokenPrefix) || len(pw) != len(tok) {
		t.Error("config markers and tokens must be distinct families of one length")
	}
}
