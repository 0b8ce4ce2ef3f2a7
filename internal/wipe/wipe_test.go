package wipe

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"
)

func requireLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has a memory map to tell heap from image")
	}
}

func isZero(s string) bool { return strings.Trim(s, "\x00") == "" }

func TestStringWipesOnlyHeapMemory(t *testing.T) {
	requireLinux(t)
	literal := "a string literal in read-only data"
	one := string([]byte{'q'}) // the runtime's static one-byte table
	heap := string(bytes.Repeat([]byte{'z'}, 40))
	tests := []struct {
		name  string
		s     string
		wiped bool
	}{
		{"a literal in read-only data is left alone", literal, false},
		{"a one-byte string from the runtime's global table is left alone", one, false},
		{"the empty string is left alone", "", false},
		{"a heap string is overwritten", heap, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.s); got != tt.wiped {
				t.Fatalf("String = %v, want %v", got, tt.wiped)
			}
		})
	}
	if one != "q" || string([]byte{'q'}) != "q" {
		t.Error("the runtime's one-byte strings were damaged")
	}
	if literal != "a string literal in read-only data" {
		t.Error("the literal changed")
	}
	if !isZero(heap) {
		t.Error("the heap string was not zeroed")
	}
}

// A string allocated after the map was read lies in memory the cached map
// may not know yet: String must read the map again rather than refuse.
func TestStringFindsHeapThatGrewAfterTheMapWasRead(t *testing.T) {
	requireLinux(t)
	String(string(bytes.Repeat([]byte{'a'}, 8))) // reads and caches the map
	// Grow the heap well past what it was.
	var hold [][]byte
	for range 64 {
		hold = append(hold, make([]byte, 1<<20))
	}
	s := string(bytes.Repeat([]byte{'b'}, 64))
	if !String(s) || !isZero(s) {
		t.Fatal("a heap string allocated after the map was cached was not wiped")
	}
	runtime.KeepAlive(hold)
}

// TestZeroRecoversFromAFaultOnReadOnlyMemory writes to a string literal,
// which lives in a read-only mapping: the write faults, and Zero must turn
// the fault into false instead of crashing, as it would if the memory map
// changed between reading it and writing.
func TestZeroRecoversFromAFaultOnReadOnlyMemory(t *testing.T) {
	requireLinux(t)
	const text = "a literal that Zero must not be able to change"
	literal := text
	p := unsafe.StringData(literal)
	if _, writable := readMap().find(uintptr(unsafe.Pointer(p)), uintptr(len(literal))); writable {
		t.Fatal("the literal is in writable memory: the test proves nothing")
	}
	if Zero(unsafe.Slice(p, len(literal))) {
		t.Fatal("Zero reported success on read-only memory")
	}
	if !bytes.Equal(unsafe.Slice(p, len(text)), []byte(text)) {
		t.Error("the read-only bytes changed")
	}
	if debug.SetPanicOnFault(false) {
		t.Error("Zero left panic-on-fault turned on")
	}
	heap := []byte(text)
	if !Zero(heap) || !isZero(string(heap)) {
		t.Error("Zero no longer works on writable memory after a fault")
	}
	if !Zero(nil) {
		t.Error("Zero of nothing failed")
	}
}

func TestSpansFindSharedBytes(t *testing.T) {
	whole := strings.Repeat("x", 64)
	secret := whole[10:20]
	sp := NewSpans([]string{secret, "", whole[40:41]})
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"the secret itself", secret, true},
		{"a string ending inside it", whole[0:11], true},
		{"a string starting inside it", whole[19:30], true},
		{"a string around it", whole, true},
		{"a string just before it", whole[0:10], false},
		{"a string just after it", whole[20:30], false},
		{"the one-byte span", whole[40:41], true},
		{"an unrelated copy", strings.Clone(secret), false},
		{"the empty string", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sp.Overlaps(tt.s); got != tt.want {
				t.Errorf("Overlaps = %v, want %v", got, tt.want)
			}
		})
	}
	if sp.Len() != 2 {
		t.Errorf("Len = %d, want 2 (the empty string has no span)", sp.Len())
	}
}
