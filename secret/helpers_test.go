package secret_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/arena"
	"github.com/secretmem/secretmem/internal/memory"
	"github.com/secretmem/secretmem/secret"
)

// marker returns a unique printable secret that cannot occur by accident
// in any output, so a test can search for it.
func marker(t testing.TB) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "MARK" + hex.EncodeToString(b[:])
}

// mustNew creates a cell from a copy of s.
func mustNew(t testing.TB, s string, opts ...secret.Option) secret.Value {
	t.Helper()
	v, err := secret.New([]byte(s), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Destroy)
	return v
}

// holds reports whether the cell holds exactly want, without printing
// either side.
func holds(v secret.Value, want string) bool {
	return v.Equal([]byte(want))
}

// inArena reports whether any mapped chunk or guarded run still contains
// the bytes of s.
func inArena(s string) bool {
	found := false
	arena.ScanForTest(func(data []byte) {
		if bytes.Contains(data, []byte(s)) {
			found = true
		}
	})
	return found
}

func flipCiphertextBit(t testing.TB, v secret.Value) { secret.FlipCiphertextBitForTest(t, v) }

// onHeap reports whether cells live on the Go heap (js/wasm, wasip1, plan9,
// or the secretmem_heap build tag): no lock, no guard pages, no exclusion
// from dumps or forked children.
func onHeap() bool { return memory.Best() == memory.Heap }

// watchFrees counts, until the test ends, the regions the arena frees and
// how many of them still held a non-zero byte when freed. counts may be
// called at any time.
func watchFrees(t testing.TB) (counts func() (freed, dirty int)) {
	var mu sync.Mutex
	var f, d int
	arena.SetFreeHookForTest(func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		f++
		if !bytes.Equal(b, make([]byte, len(b))) {
			d++
		}
	})
	t.Cleanup(func() { arena.SetFreeHookForTest(nil) })
	return func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return f, d
	}
}

// beforeTTL runs try with a cell lifetime of ttl, and again with twice
// the lifetime each time try reports that the lifetime ran out before it
// could look (false): what a test checks "before the TTL" can only be
// checked while it lasts, and a loaded machine, a stalled virtual CPU or
// qemu can spend longer than any fixed TTL between two statements. A run
// that looked in time and saw something wrong fails the test in try.
func beforeTTL(t *testing.T, ttl time.Duration, try func(ttl time.Duration) bool) {
	t.Helper()
	for ; ttl <= 10*time.Second; ttl *= 2 {
		if try(ttl) {
			return
		}
		t.Logf("the TTL of %v ran out before the test could look: again with %v", ttl, 2*ttl)
	}
	t.Fatal("even a 10 s TTL ran out before the test could look")
}
