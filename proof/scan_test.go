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

// The register-save classifier: a token in the XMM slots of an FXSAVE area
// (as the kernel writes it on a signal stack) is recognised; the same bytes
// elsewhere, or in an area without the x87 and MXCSR defaults, are not.
func TestTokensInSavedRegistersAreRecognised(t *testing.T) {
	const tok = "PRFt00000000-0123456789abcdef"
	area := func(fcw, mxcsr uint16, at int) []byte {
		b := make([]byte, 2048)
		base := 0x640 // XSAVE areas are 64-byte aligned
		b[base], b[base+1] = byte(fcw), byte(fcw>>8)
		b[base+24], b[base+25] = byte(mxcsr), byte(mxcsr>>8)
		b[base+28], b[base+29], b[base+30] = 0xff, 0xff, 0x02 // MXCSR_MASK
		copy(b[base+at:], tok)
		return b
	}
	for _, c := range []struct {
		name        string
		b           []byte
		at          int
		inRegisters bool
	}{
		{"in XMM0", area(0x037f, 0x1fa0, 160), 0x640 + 160, true},
		{"across XMM11 and XMM12", area(0x037f, 0x1fa0, 195), 0x640 + 195, true},
		{"in XMM15's last bytes", area(0x037f, 0x1fa0, 415-len(tok)+1), 0x640 + 415 - len(tok) + 1, true},
		{"before the XMM slots", area(0x037f, 0x1fa0, 100), 0x640 + 100, false},
		{"past the XMM slots", area(0x037f, 0x1fa0, 420), 0x640 + 420, false},
		{"no x87 default", area(0x0000, 0x1fa0, 195), 0x640 + 195, false},
		{"no MXCSR default", area(0x037f, 0x0000, 195), 0x640 + 195, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := inSavedRegisters(c.b, c.at); got != c.inRegisters {
				t.Errorf("inSavedRegisters = %v, want %v", got, c.inRegisters)
			}
		})
	}
}
