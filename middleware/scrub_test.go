package middleware

import (
	"runtime"
	"strings"
	"testing"
)

var readOnly = "read-only bytes in the executable image"

func TestScrubString(t *testing.T) {
	heap := strings.Repeat("h", 64) // built at run time: heap memory
	for _, c := range []struct {
		name      string
		s         string
		wantWrote bool
	}{
		{"a heap string is zeroed", heap, runtime.GOOS == "linux"},
		{"a string literal is left alone", readOnly, false},
		{"an empty string is left alone", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := scrubString(c.s); got != c.wantWrote {
				t.Fatalf("scrubString wrote: %v, want %v", got, c.wantWrote)
			}
			if c.wantWrote && strings.Trim(c.s, "\x00") != "" {
				t.Error("the bytes were not zeroed")
			}
		})
	}
}

func TestZeroTolerantRecoversFromReadOnlyMemory(t *testing.T) {
	// Bypass the image check on purpose: the write faults, and the fault
	// must come back as false, not as a crash.
	b := unsafeBytes(readOnly)
	if zeroTolerant(b) {
		t.Fatal("writing into read-only data reported success")
	}
	if readOnly != "read-only bytes in the executable image" {
		t.Error("read-only data changed")
	}
}
